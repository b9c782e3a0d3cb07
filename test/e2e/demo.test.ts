import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { host, useWorkbench } from './workbench';
import { countTraffic } from '../support/traffic';

interface DemoEnv {
  dir: string;
  ports: { ROUTER_PORT: number };
  git(...args: string[]): void;
  start(): Promise<DemoEnv>;
  stop(): Promise<void>;
  remove(): void;
  summary(): { active: string; schema: number; columns: string[] };
  alivePids(): number[];
}

describe(`the demo, driven from VS Code ${host.version}: a faulty release caught and rolled back`, function () {
  let env: DemoEnv;
  const ui = useWorkbench({
    open: async () => {
      const { DemoEnvironment } = await import(pathToFileURL(path.join(host.root, 'examples', 'demo', 'environment.mjs')).href);
      env = await new DemoEnvironment({ bad: true, routerPortInPlan: true }).start();
      return env.dir;
    },
    cleanUp: async () => {
      await env?.stop();
      env?.remove();
    },
  });

  it('runs from "Deploy: Start Release" through the monitor, which catches the error spike and rolls back', async () => {
    await ui.wb.openReleaseView();
    await ui.wb.command('Deploy: Start Release');
    await ui.wb.answerDialog('Manual check: On-call engineer informed', 'Done');
    await ui.wb.answerDialog('Release orders-service 1.1.0 to production?', 'Release');
    // The monitor panel opens when the deploy starts; the baseline is captured first.
    await ui.wb.webview().locator('#metrics-table tbody tr[data-metric="traffic"]').waitFor({ timeout: 60_000 });
    await ui.wb.row(/Monitoring\s*running/).waitFor({ timeout: 60_000 });
    await ui.wb
      .terminalText(/▶ Monitoring|Monitoring/)
      .waitFor({ timeout: 30_000 })
      .catch(() => {});
    await ui.wb.shot('demo-tree-mid-release');
    await ui.wb.webview().locator('#metrics-table td.breach, #metrics-table td.fail').first().waitFor({ timeout: 60_000 });
    await ui.wb.shot('demo-monitor-breach');
    await ui.wb.row(/orders-service 1\.1\.0.*rolled-back/).waitFor({ timeout: 60_000 });
    await ui.wb.terminalText(/rolled back/).waitFor({ timeout: 30_000 });
    await ui.wb.shot('demo-rolled-back');
    const after = env.summary();
    assert.equal(after.active, 'blue', 'traffic is back on the old version');
    assert.equal(after.schema, 2, 'the rollback is code-only: the additive migration stays');
  });

  it('shows the report with the incident response', async () => {
    await ui.wb.command('Deploy: Open Release Report');
    await ui.wb.webview().locator('#report-body h2', { hasText: '4. Incident Response' }).waitFor({ timeout: 30_000 });
    const text = await ui.wb.webview().locator('#report-body').innerText();
    assert.match(text, /Rollback Triggered\s+Yes/);
    assert.match(text, /Reason \(if Yes\)\s+error_rate: [\d.]+ is above the maximum 0\.0200 for 3 sample\(s\) in a row/);
    assert.match(text, /Trigger → Rollback Start\s+\d+ ms/);
    await ui.wb.shot('demo-report');
  });

  it('leaves no process of the demo running once stopped', async () => {
    await env.stop();
    assert.deepEqual(env.alivePids(), []);
  });
});

describe(`the demo, driven from VS Code ${host.version}: a rollback from the status bar after the release finished`, function () {
  let env: DemoEnv;
  const ui = useWorkbench({
    open: async () => {
      const { DemoEnvironment } = await import(pathToFileURL(path.join(host.root, 'examples', 'demo', 'environment.mjs')).href);
      env = await new DemoEnvironment({ routerPortInPlan: true }).start();
      // The demo's 45 s monitoring window, shortened for the test (committed and tagged: the git gate holds).
      const plan = path.join(env.dir, '.release', 'plan.yaml');
      fs.writeFileSync(plan, fs.readFileSync(plan, 'utf8').replace('window: 45s', 'window: 12s').replace('capture: 8s', 'capture: 4s'));
      env.git('commit', '-qam', 'chore: a shorter monitoring window for the test');
      env.git('tag', '-f', 'v1.1.0');
      return env.dir;
    },
    cleanUp: async () => {
      await env?.stop();
      env?.remove();
    },
  });

  it('releases v1.1.0, then a rollback from the status bar leaves every request answering 200 (each one counted)', async () => {
    await ui.wb.openReleaseView();
    await ui.wb.command('Deploy: Start Release');
    await ui.wb.answerDialog('Manual check: On-call engineer informed', 'Done');
    await ui.wb.answerDialog('Release orders-service 1.1.0 to production?', 'Release');
    await ui.wb.row(/orders-service 1\.1\.0.*released/).waitFor({ timeout: 150_000 });
    assert.equal(env.summary().active, 'green');
    const traffic = countTraffic(env.ports.ROUTER_PORT);
    try {
      const item = ui.wb.statusItem(/Roll back v1\.1\.0 · \d+:\d\d/);
      await item.waitFor({ timeout: 15_000 });
      await item.click();
      await ui.wb.answerDialog('Roll back orders-service 1.1.0 on production?', 'Roll Back');
      await ui.wb.typeInput('customers report wrong totals');
      await ui.wb.row(/orders-service 1\.1\.0.*rolled-back/).waitFor({ timeout: 60_000 });
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await traffic.stop();
    }
    const total = Object.values(traffic.codes).reduce((a, b) => a + b, 0);
    assert.ok(total >= 50, `enough requests counted: ${JSON.stringify(traffic.codes)}`);
    assert.equal(total - (traffic.codes[200] ?? 0), 0, `every request answered 200: ${JSON.stringify(traffic.codes)}`);
    assert.equal(env.summary().active, 'blue');
    assert.equal(env.summary().schema, 2, 'the rollback is code-only: the additive migration stays');
    await ui.wb.shot('demo-rolled-back-after-release');
  });
});
