// Runs the unit layer (bundled into out/unit by `node esbuild.mjs --tests`) with mocha's API,
// so the counts can be reported to run-tests.mjs.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
const require = createRequire(import.meta.url);
process.setSourceMapsEnabled(true);
const Mocha = require('mocha');

const mocha = new Mocha({ timeout: 60000, reporter: 'spec', ui: 'bdd' });
if (process.env.TEST_GREP) mocha.grep(process.env.TEST_GREP);
for (const f of fs
  .readdirSync('out/unit')
  .filter((f) => f.endsWith('.test.js'))
  .sort())
  mocha.addFile(path.resolve('out/unit', f));
const runner = mocha.run((failures) => {
  const s = runner.stats;
  console.log(`RESULT ${JSON.stringify({ passed: s.passes, failed: s.failures, pending: s.pending })}`);
  process.exitCode = failures ? 1 : 0;
  // Tests own real processes; make sure none keeps this one alive.
  setTimeout(() => process.exit(process.exitCode), 200).unref();
});
