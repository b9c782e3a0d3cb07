import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { host, useWorkbench } from './workbench';

interface DemoEnv {
  dir: string;
  start(): Promise<DemoEnv>;
  stop(): Promise<void>;
  remove(): void;
}

const CLICKS = 100;

// A click on a row whose command was retired by a refresh opens nothing ("Actual command not found").
// The rows are clicked while the monitor samples every second, which is when the view changes most.
describe(`the Release view in VS Code ${host.version}: no click is lost during a live monitoring window`, function () {
  let env: DemoEnv;
  const ui = useWorkbench({
    open: async () => {
      const { DemoEnvironment } = await import(pathToFileURL(path.join(host.root, 'examples', 'demo', 'environment.mjs')).href);
      // A window long enough for every click to land while the monitor samples.
      env = await new DemoEnvironment({ bad: false, routerPortInPlan: true, monitoringWindow: '600s' }).start();
      assert.match(fs.readFileSync(path.join(env.dir, '.release', 'plan.yaml'), 'utf8'), /^ {2}window: 600s$/m);
      return env.dir;
    },
    cleanUp: async () => {
      await env?.stop();
      env?.remove();
    },
  });

  it(`clicks two step rows ${CLICKS} times while the monitor runs: every click opens that step's log`, async function () {
    this.timeout(600_000);
    await ui.wb.openReleaseView();
    await ui.wb.command('Deploy: Start Release');
    await ui.wb.answerDialog('Manual check: On-call engineer informed', 'Done');
    await ui.wb.answerDialog('Release orders-service 1.1.0 to production?', 'Release');
    await ui.wb.row(/Monitoring\s*running/).waitFor({ timeout: 90_000 });
    // The panel opened on deploy; close it so the view and the editor area have the default layout.
    await ui.wb.command('View: Close All Editors');

    const targets = [
      { row: ui.wb.row('Back up the production database'), tab: 'backup_0.1.log' },
      { row: ui.wb.row('Apply DB migrations'), tab: 'migration_0.1.log' },
    ];
    const activeTab = ui.wb.page.locator('.tabs-container .tab.active');
    let lost = 0;
    let duringMonitoring = 0;
    for (let i = 0; i < CLICKS; i++) {
      const t = targets[i % 2];
      if (await ui.wb.row(/Monitoring\s*running/).isVisible()) duringMonitoring++;
      await t.row.click();
      try {
        await activeTab.filter({ hasText: t.tab }).waitFor({ timeout: 5000 });
      } catch {
        lost++;
      }
    }
    const notFound = await ui.wb.page.locator('.notifications-toasts, .notification-toast').filter({ hasText: 'command not found' }).count();
    console.log(`      clicks: ${CLICKS}, during monitoring: ${duringMonitoring}, lost: ${lost}, "command not found" toasts: ${notFound}`);
    assert.ok(duringMonitoring >= CLICKS * 0.9, `the monitor ended too early: only ${duringMonitoring} of ${CLICKS} clicks landed during it`);
    assert.equal(lost, 0, `${lost} of ${CLICKS} clicks opened nothing`);
    assert.equal(notFound, 0);
  });
});
