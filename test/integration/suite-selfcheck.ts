// A suite with one test that passes and one that must fail: the harness's own check that a broken
// assertion inside the extension host fails the run.
import { runSuite } from './mochaSuite';

export function run(): Promise<void> {
  return runSuite(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the tests register once mocha's globals exist
    require('./selfcheck.tests');
  });
}
