import { runSuite } from './mochaSuite';

export function run(): Promise<void> {
  return runSuite(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the tests register once mocha's globals exist
    require('./trusted.tests');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
    require('./planhelp.tests');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
    require('./history.tests');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above; last: it commits a plan of its own
    require('./canary.tests');
  });
}
