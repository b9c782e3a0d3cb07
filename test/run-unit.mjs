// Runs the unit layer with mocha's API so the counts can be reported to run-tests.mjs.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
require('tsx/cjs');
const Mocha = require('mocha');
const { globSync } = require('tinyglobby');

const mocha = new Mocha({ timeout: 60000, reporter: 'spec', ui: 'bdd' });
const grep = process.env.TEST_GREP;
if (grep) mocha.grep(grep);
for (const f of globSync('test/unit/**/*.test.ts').sort()) mocha.addFile(f);
const runner = mocha.run((failures) => {
  const s = runner.stats;
  console.log(`RESULT ${JSON.stringify({ passed: s.passes, failed: s.failures, pending: s.pending })}`);
  process.exitCode = failures ? 1 : 0;
  // Tests own real processes; make sure none keeps this one alive.
  setTimeout(() => process.exit(process.exitCode), 200).unref();
});
