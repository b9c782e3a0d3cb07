// Runs inside the extension host: mocha with the bundled test files, reporting counts to the harness.
import Mocha from 'mocha';

export function runSuite(load: () => void): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  mocha.suite.emit('pre-require', globalThis, 'bundle', mocha);
  load();
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      console.log(`RESULT ${JSON.stringify({ passed: runner.stats?.passes ?? 0, failed: runner.stats?.failures ?? 0 })}`);
      if (failures > 0) reject(new Error(`${failures} test(s) failed`));
      else resolve();
    });
  });
}
