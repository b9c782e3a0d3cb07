import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { host, useWorkbench } from './workbench';

describe(`the workbench, driven in Chromium (VS Code ${host.version})`, function () {
  const ui = useWorkbench({
    fixture: 'ws-basic',
    prepare: (folder) => {
      fs.mkdirSync(path.join(folder, 'state'), { recursive: true });
      fs.writeFileSync(path.join(folder, 'state', 'allow-deploy'), '');
    },
    shots: '',
  });

  it('shows the checklist and the phases in the Release Pilot view', async () => {
    await ui.wb.openReleaseView();
    await ui.wb.row('Migration scripts present').waitFor();
    const rows = await ui.wb.rowTexts();
    assert.ok(
      rows.some((r) => r.startsWith('fixture-app 1.2.3')),
      rows.join(' | '),
    );
    for (const t of ['Checklist', 'Merged to main and tagged', 'Product owner sign-off', 'Phases', 'Preparation', 'Monitoring', 'Announcement'])
      assert.ok(
        rows.some((r) => r.includes(t)),
        `${t} in ${rows.join(' | ')}`,
      );
  });

  it('runs a checklist check when the item is clicked', async () => {
    await ui.wb.row('Migration scripts present').click();
    await ui.wb.row(/Migration scripts present.*1 file\(s\): migrations\/001-note\.sql/).waitFor({ timeout: 15_000 });
  });

  it('starts a release from the palette, asks for the manual check and the go, and runs every phase', async () => {
    await ui.wb.command('Deploy: Start Release');
    await ui.wb.answerDialog('Manual check: Product owner sign-off', 'Done');
    await ui.wb.answerDialog('Release fixture-app 1.2.3 to production?', 'Release');
    // The terminal of a phase shows what its steps print.
    await ui.wb.terminalText(/fixture-app 1\.2\.3 released|preparing 1\.2\.3|smoke ok|LOG_LEVEL|▶/).waitFor({ timeout: 30_000 });
    await ui.wb.row(/fixture-app 1\.2\.3.*released/).waitFor({ timeout: 60_000 });
    // The rows are redrawn one render pass after another: the last phase's row, then the whole list.
    await ui.wb.row(/Announcement\s*passed/).waitFor({ timeout: 15_000 });
    const rows = await ui.wb.rowTexts();
    assert.ok(
      rows.some((r) => /Announcement\s*passed/.test(r)),
      rows.join(' | '),
    );
    await ui.wb.shot('tree-after-release');
  });

  it('shows the release in the webview panel', async () => {
    await ui.wb.command('Deploy: Show Monitor');
    const title = ui.wb.webview().locator('#release-title');
    await title.waitFor({ timeout: 30_000 });
    assert.equal(await title.innerText(), 'fixture-app 1.2.3 → production');
    await ui.wb.webview().locator('#metrics-table tbody tr[data-metric="health"]').waitFor();
    await ui.wb.webview().locator('#tab-report').click();
    await ui.wb.webview().locator('#report-body h2', { hasText: '4. Incident Response' }).waitFor();
    const report = await ui.wb.webview().locator('#report-body').innerText();
    assert.match(report, /Rollback Triggered\s+No/);
    assert.match(report, /Core API/);
  });

  it('keeps the panel through hide/show and a window reload, and its Roll Back button asks first', async () => {
    // Hide: another editor takes the tab; show: the panel comes back with its content (a snapshot on ready).
    await ui.wb.command('Deploy: Show Monitor');
    await ui.wb.command('File: New Untitled Text File');
    await ui.wb.command('Deploy: Show Monitor');
    await ui.wb.webview().locator('#metrics-table tbody tr[data-metric="health"] td', { hasText: 'pass' }).waitFor({ timeout: 30_000 });
    // Reload: VS Code restores the panel through the serializer, and it shows the release again.
    await ui.wb.page.reload();
    await ui.wb.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    // The web workbench saves its layout on a schedule, so the tab that was in front before the
    // reload may come back behind another: a person clicks it, and the serializer fills it.
    const tab = ui.wb.page.locator('.tabs-container .tab', { hasText: 'Release 1.2.3' }).first();
    await tab.waitFor({ timeout: 60_000 });
    if (!(await tab.evaluate((t) => t.classList.contains('active')))) await tab.click();
    await ui.wb.webview().locator('#release-title', { hasText: 'fixture-app 1.2.3' }).waitFor({ timeout: 60_000 });
    await ui.wb.shot('panel-after-reload');
    await ui.wb.webview().locator('#tab-monitor').click();
    await ui.wb.webview().locator('#rollback').click();
    const dialog = ui.wb.page.locator('.monaco-dialog-box', { hasText: 'Roll back fixture-app 1.2.3 on production?' });
    await dialog.waitFor({ timeout: 15_000 });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await ui.wb.openReleaseView();
    await ui.wb.row(/fixture-app 1\.2\.3.*released/).waitFor();
  });

  it('rolls back from the status-bar item after a confirmation', async () => {
    const item = ui.wb.statusItem(/Roll back v1\.2\.3 · \d+:\d\d/);
    await item.waitFor({ timeout: 15_000 });
    await ui.wb.shot('status-bar-rollback');
    await item.click();
    await ui.wb.answerDialog('Roll back fixture-app 1.2.3 on production?', 'Roll Back');
    await ui.wb.typeInput('checkout errors after the release');
    await ui.wb.row(/fixture-app 1\.2\.3.*rolled-back/).waitFor({ timeout: 30_000 });
    await ui.wb.row(/Rollback.*checkout errors after the release/).waitFor();
    await ui.wb.terminalText(/rolled back/).waitFor({ timeout: 15_000 });
    assert.equal(await ui.wb.statusItem(/Roll back v1\.2\.3/).count(), 0, 'nothing left to roll back');
  });

  it('after a reload mid-release, the closing window stopped the running step: the release is paused, the step interrupted, and Retry Step runs it', async () => {
    fs.writeFileSync(path.join(ui.folder, 'state', 'slow'), '');
    await ui.wb.command('Deploy: Start Release');
    await ui.wb.answerDialog('Manual check: Product owner sign-off', 'Done');
    await ui.wb.answerDialog('Release fixture-app 1.2.3 to production?', 'Release');
    await ui.wb.openReleaseView();
    await ui.wb.row(/Deploy 1\.2\.3/).waitFor({ timeout: 30_000 });
    await ui.wb.shot('tree-mid-release');
    await ui.wb.page.reload();
    await ui.wb.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await ui.wb.openReleaseView();
    // deactivate() ended the step's process group and journaled the stop: resumable, not a crash.
    await ui.wb.row(/fixture-app 1\.2\.3.*paused/).waitFor({ timeout: 30_000 });
    await ui.wb.row(/Deploy 1\.2\.3.*interrupted/).waitFor();
    fs.rmSync(path.join(ui.folder, 'state', 'slow'));
    await ui.wb.command('Deploy: Retry Step');
    await ui.wb.row(/fixture-app 1\.2\.3.*released/).waitFor({ timeout: 60_000 });
    await ui.wb.row(/Deploy 1\.2\.3.*attempt 2/).waitFor();
  });
});
