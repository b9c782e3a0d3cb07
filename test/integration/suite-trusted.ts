import { runSuite } from './mochaSuite';

export function run(): Promise<void> {
  return runSuite(() => {
    require('./trusted.tests');
  });
}
