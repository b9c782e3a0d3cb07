import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { host, useWorkbench } from './workbench';

/** Staging then production: the promotion and approval gates in the tree, and Deploy: Approve Release from the palette. */
describe(`environments: promotion and approval gates in the tree, Approve Release from the palette (VS Code ${host.version})`, function () {
  const git = (...a: string[]) => execFileSync('git', a, { cwd: ui.folder, encoding: 'utf8' }).trim();
  const cli = (env: string, expected: number) => {
    const r = spawnSync(
      'node',
      [path.join(host.root, 'dist', 'cli.js'), 'run', '--env', env, '--yes', '--tick', 'sign-off', '--plan', path.join(ui.folder, '.release', 'plan.yaml')],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, expected, r.stdout + r.stderr);
  };

  const ui = useWorkbench({
    fixture: 'ws-basic',
    prepare: (folder) => {
      fs.mkdirSync(path.join(folder, 'state'), { recursive: true });
      fs.writeFileSync(path.join(folder, 'state', 'allow-deploy'), '');
      const planFile = path.join(folder, '.release', 'plan.yaml');
      fs.appendFileSync(
        planFile,
        '\nenvironments:\n  staging: {}\n  production:\n    requires: { released: staging, maxAge: 1d }\n    approvals: { count: 1 }\n',
      );
      git('commit', '-qam', 'chore: staging, then production with an approval');
      git('tag', '-f', 'v1.2.3');
      cli('staging', 0);
      // Production is refused at its approval gate, the promotion gate open: the tree shows both from the journal.
      cli('production', 1);
    },
  });

  it('shows the promotion gate open, naming the staging run, and the approval gate blocked', async () => {
    await ui.wb.openReleaseView();
    const promotion = ui.wb.row(/Promotion/);
    await promotion.waitFor({ timeout: 30_000 });
    assert.match(await promotion.innerText(), /released to staging in run \S+/);
    const approval = ui.wb.row(/^Approval/);
    assert.match(await approval.innerText(), /0 of 1 approval/);
    await ui.wb.shot('environments-gates');
  });

  it('records an approval with Deploy: Approve Release: environment, version and comment asked in turn', async () => {
    await ui.wb.command('Deploy: Approve Release', 30_000, 'asks');
    const input = ui.wb.page.locator('.quick-input-widget .quick-input-box input');
    await ui.wb.chooseRow(ui.wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'production' }).first());
    await ui.wb.page.locator('.quick-input-widget', { hasText: 'version' }).waitFor();
    assert.equal(await input.inputValue(), '1.2.3');
    await ui.wb.page.keyboard.press('Enter');
    await ui.wb.page.locator('.quick-input-widget', { hasText: 'comment' }).waitFor();
    await input.fill('checked on staging');
    await ui.wb.page.keyboard.press('Enter');
    const end = Date.now() + 30_000;
    const approvalTags = () => git('tag', '-l', 'release-pilot/approval/production/1.2.3/*');
    while (!approvalTags() && Date.now() < end) await new Promise((r) => setTimeout(r, 300));
    const tags = approvalTags();
    assert.ok(tags, 'no approval tag was written');
    const message = git('tag', '-l', '--format=%(contents)', tags.split('\n')[0]);
    // Approved in VS Code, with no --var: the inputs line is the digest of no overrides (sha256 of "[]").
    assert.match(
      message,
      /^release-pilot approval\nenvironment: production\nversion: 1\.2\.3\ncommit: [0-9a-f]{40}\nplan: [0-9a-f]{64}\ninputs: 4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945\napprover: .+ <.+>\nat: \S+\ncomment: checked on staging/,
    );
    await ui.wb.page.locator('.notifications-toasts', { hasText: 'Approved fixture-app 1.2.3 for production' }).first().waitFor({ timeout: 15_000 });
    // The gates are judged again at once, for the person at this git: their own approval does not count for them.
    const approval = ui.wb.row(/^Approval/);
    await ui.wb.row(/^Approval\s*checked \d\d:\d\d: 0 of 1 approval/).waitFor({ timeout: 15_000 });
    assert.match(await approval.innerText(), /checked \d\d:\d\d: 0 of 1 approval\(s\) for 1\.2\.3 to production/);
    assert.match(
      (await approval.getAttribute('aria-label')) ?? '',
      /Not counted: release-pilot\/approval\/production\/1\.2\.3\/\S+: the approver (is|has the name of) the person starting the release/,
    );
    await ui.wb.shot('environments-approved');
  });

  it('another person at this git: Refresh shows the approval gate open now, and their release passes it', async () => {
    git('config', 'user.name', 'Olga Operator');
    git('config', 'user.email', 'olga@example.com');
    // The view's title bar: Refresh reads the plan and the runs again, and judges the gates for who is at this git now.
    await ui.wb.page.locator('#workbench\\.parts\\.sidebar .title-actions .action-label[aria-label="Refresh"]').first().click();
    // Every gate open now: the Gates group folds into its summary; opened, it shows each gate.
    const group = ui.wb.row(/^Gates\s*4\/4 open/);
    await group.waitFor({ timeout: 15_000 });
    await group.click();
    const approval = ui.wb.row(/^Approval/);
    await ui.wb.row(/^Approval\s*checked \d\d:\d\d: approved by/).waitFor({ timeout: 15_000 });
    assert.match(await ui.wb.row(/^Promotion/).innerText(), /checked \d\d:\d\d: 1\.2\.3 at [0-9a-f]{12} was released to staging in run \S+/);
    assert.match(await approval.innerText(), /checked \d\d:\d\d: approved by Fixture Engineer <\S+@\S+> at \S+/);
    await ui.wb.shot('environments-approval-open');
    cli('production', 0);
    // The run's journal replaces the check: the gate as the release judged it.
    await ui.wb.row(/^Approval\s*approved by/).waitFor({ timeout: 15_000 });
  });

  it('a commit moves HEAD while a check is shown: the gates are checked again on their own, and the approval of the old commit no longer counts', async () => {
    await ui.wb.page.locator('#workbench\\.parts\\.sidebar .title-actions .action-label[aria-label="Refresh"]').first().click();
    await ui.wb.row(/^Approval\s*checked \d\d:\d\d: approved by/).waitFor({ timeout: 15_000 });
    git('commit', '-q', '--allow-empty', '-m', 'fix: one more thing');
    const head = git('rev-parse', 'HEAD').slice(0, 12);
    // No click: git's refs moved, and the view checks again.
    await ui.wb
      .row(new RegExp(`^Approval\\s*checked \\d\\d:\\d\\d: 0 of 1 approval\\(s\\) for 1\\.2\\.3 to production at ${head}`))
      .waitFor({ timeout: 20_000 });
    assert.match(
      await ui.wb.row(/^Promotion/).innerText(),
      new RegExp(`checked \\d\\d:\\d\\d: no released staging run of fixture-app 1\\.2\\.3 at commit ${head}`),
    );
  });
});
