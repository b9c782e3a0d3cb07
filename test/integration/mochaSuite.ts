// Runs inside the extension host: mocha with the bundled test files, reporting counts to the harness.
import Mocha from 'mocha';

export function runSuite(load: () => void): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  mocha.suite.emit('pre-require', globalThis, 'bundle', mocha);
  load();
  const failed: string[] = [];
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      console.log(`RESULT ${JSON.stringify({ passed: runner.stats?.passes ?? 0, failed: runner.stats?.failures ?? 0, failures: failed })}`);
      if (failures > 0) reject(new Error(`${failures} test(s) failed`));
      else resolve();
    });
    // Each failure's title and first line, in RESULT, so that the run's closing lines name them.
    runner.on('fail', (t, err: unknown) =>
      failed.push(
        `${t.fullTitle()}: ${String((err as Error)?.message ?? err)
          .split('\n')[0]
          .slice(0, 300)}`,
      ),
    );
  });
}
