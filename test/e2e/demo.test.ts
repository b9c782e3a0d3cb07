import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { host, Workbench } from './workbench';

interface DemoEnv {
  dir: string;
  start(): Promise<DemoEnv>;
  stop(): Promise<void>;
  remove(): void;
  summary(): { active: string; schema: number; columns: string[] };
  alivePids(): number[];
}

describe(`the demo, driven from VS Code ${host.version}: a faulty release caught and rolled back`, function () {
  let server: Awaited<ReturnType<typeof host.startServer>>;
  let browser: BrowserContext;
  let env: DemoEnv;
  let wb: Workbench;

  before(async () => {
    const { DemoEnvironment } = await import(pathToFileURL(path.join(host.root, 'examples', 'demo', 'environment.mjs')).href);
    env = await new DemoEnvironment({ bad: true, routerPortInPlan: true }).start();
    server = await host.startServer();
    browser = await host.launchBrowser(server.tmp, server.xdg);
    wb = await Workbench.open(await browser.newPage(), host.workbenchUrl(server.host, { folder: env.dir }));
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.shot(`FAILED-demo-${(this.currentTest.title ?? '').replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`).catch(() => {});
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    await env?.stop();
    env?.remove();
  });

  it('runs from "Deploy: Start Release" through the monitor, which catches the error spike and rolls back', async () => {
    await wb.openReleaseView();
    await wb.command('Deploy: Start Release');
    await wb.answerDialog('Manual check: On-call engineer informed', 'Done');
    await wb.answerDialog('Release orders-service 1.1.0 to production?', 'Release');
    // The monitor panel opens when the deploy starts; the baseline is captured first.
    await wb.webview().locator('#metrics-table tbody tr[data-metric="traffic"]').waitFor({ timeout: 60_000 });
    await wb.row(/Monitoring\s*running/).waitFor({ timeout: 60_000 });
    await wb.terminalText(/▶ Monitoring|Monitoring/).waitFor({ timeout: 30_000 }).catch(() => {});
    await wb.shot('demo-tree-mid-release');
    await wb.webview().locator('#metrics-table td.breach, #metrics-table td.fail').first().waitFor({ timeout: 60_000 });
    await wb.shot('demo-monitor-breach');
    await wb.row(/orders-service 1\.1\.0.*rolled-back/).waitFor({ timeout: 60_000 });
    await wb.terminalText(/rolled back/).waitFor({ timeout: 30_000 });
    await wb.shot('demo-rolled-back');
    const after = env.summary();
    assert.equal(after.active, 'blue', 'traffic is back on the old version');
    assert.equal(after.schema, 1, 'the database was restored from the backup');
  });

  it('shows the report with the incident response', async () => {
    await wb.command('Deploy: Open Release Report');
    await wb.webview().locator('#report-body h2', { hasText: '4. Incident Response' }).waitFor({ timeout: 30_000 });
    const text = await wb.webview().locator('#report-body').innerText();
    assert.match(text, /Rollback Triggered\s+Yes/);
    assert.match(text, /Reason \(if Yes\)\s+error_rate: [\d.]+ is above the maximum 0\.0200 for 3 sample\(s\) in a row/);
    assert.match(text, /Trigger → Rollback Start\s+\d+ ms/);
    await wb.shot('demo-report');
  });

  it('leaves no process of the demo running once stopped', async () => {
    await env.stop();
    assert.deepEqual(env.alivePids(), []);
  });
});
