// Runs one Node test layer, bundled into out/<layer> by `node esbuild.mjs --tests`, with mocha's API,
// so the counts can be reported to run-tests.mjs:
//   node test/run-mocha.mjs unit|system [--grep PATTERN] [FILE...]
// A FILE is a test source (test/system/signals.test.ts), its bundle (out/system/signals.test.js) or
// its bare name (signals); without one, every file of the layer runs. TEST_GREP=PATTERN works as --grep.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
const require = createRequire(import.meta.url);
process.setSourceMapsEnabled(true);
const Mocha = require('mocha');

const args = process.argv.slice(2);
const layer = args.shift();
if (!['unit', 'system'].includes(layer)) {
  console.error('usage: node test/run-mocha.mjs unit|system [--grep PATTERN] [FILE...]');
  process.exit(2);
}
let grep = process.env.TEST_GREP;
const wanted = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--grep' || args[i] === '-g') grep = args[++i];
  else if (args[i].startsWith('--grep=')) grep = args[i].slice(7);
  else wanted.push(path.basename(args[i]).replace(/(\.test)?\.(ts|js)$/, ''));
}

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'out', layer);
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .sort();
const missing = wanted.filter((w) => !files.includes(`${w}.test.js`));
if (missing.length) {
  console.error(`no ${missing.map((w) => `${w}.test.js`).join(', ')} in out/${layer} (${files.join(', ')})`);
  process.exit(2);
}
const mocha = new Mocha({ timeout: 60000, reporter: 'spec', ui: 'bdd' });
if (grep) mocha.grep(grep);
for (const f of files) if (!wanted.length || wanted.includes(f.slice(0, -'.test.js'.length))) mocha.addFile(path.resolve(dir, f));
const failed = [];
// Each file's time, slowest first, in test-results/logs/<layer>-files.json: what a shard plan reads.
const fileTimes = {};
let fileStart = 0;
const runner = mocha.run((failures) => {
  const s = runner.stats;
  const times = Object.entries(fileTimes).sort((a, b) => b[1] - a[1]);
  try {
    const logs = path.join(dir, '..', '..', 'test-results', 'logs');
    fs.mkdirSync(logs, { recursive: true });
    fs.writeFileSync(
      path.join(logs, `${layer}-files${process.env.TEST_SHARD ? `-${process.env.TEST_SHARD}` : ''}.json`),
      JSON.stringify(Object.fromEntries(times), null, 1),
    );
  } catch {
    // Timing is a report, never a failure.
  }
  console.log(`RESULT ${JSON.stringify({ passed: s.passes, failed: s.failures, pending: s.pending, failures: failed })}`);
  process.exitCode = failures ? 1 : 0;
  // Tests own real processes; make sure none keeps this one alive.
  setTimeout(() => process.exit(process.exitCode), 200).unref();
});
runner.on('suite', (suite) => {
  if (suite.file && suite.parent?.root) fileStart = Date.now();
});
runner.on('suite end', (suite) => {
  if (suite.file && suite.parent?.root) {
    const name = path.basename(suite.file, '.test.js');
    fileTimes[name] = (fileTimes[name] ?? 0) + Date.now() - fileStart;
  }
});
// Each failure's title and first line, repeated in RESULT so that the run's closing lines name them.
runner.on('fail', (t, err) =>
  failed.push(
    `${t.fullTitle()}: ${String(err?.message ?? err)
      .split('\n')[0]
      .slice(0, 300)}`,
  ),
);
