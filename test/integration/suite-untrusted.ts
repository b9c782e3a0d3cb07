import { runSuite } from './mochaSuite';

export function run(): Promise<void> {
  return runSuite(() => {
    require('./untrusted.tests');
  });
}
