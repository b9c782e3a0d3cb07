import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator } from 'playwright-core';
import { host, useWorkbench } from './workbench';

/** The Releases view's row menu as a person uses it: Compare with Another Release…, Redeploy This Version. */
describe(`the Releases view's row menu: compare two releases, redeploy one (VS Code ${host.version})`, function () {
  const runIds: string[] = [];

  const cli = (expected: number) => {
    const r = spawnSync(
      'node',
      [path.join(host.root, 'dist', 'cli.js'), 'run', '--yes', '--tick', 'sign-off', '--plan', path.join(ui.folder, '.release', 'plan.yaml')],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, expected, r.stdout + r.stderr);
  };
  const runsDir = () => path.join(ui.folder, '.release', 'runs');
  const journal = (id: string) =>
    fs
      .readFileSync(path.join(runsDir(), id, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  const ui = useWorkbench({
    fixture: 'ws-basic',
    prepare: (folder) => {
      // Two real releases from the CLI before the window opens: 1.2.3 released; then a feature and a fix,
      // and 1.2.4, whose health probe reads 0, rolled back by the monitor.
      fs.mkdirSync(path.join(folder, 'state'), { recursive: true });
      fs.writeFileSync(path.join(folder, 'state', 'allow-deploy'), '');
      const git = (...a: string[]) => execFileSync('git', a, { cwd: folder, encoding: 'utf8' }).trim();
      const planFile = path.join(folder, '.release', 'plan.yaml');
      // The fixture's steps deploy ${release.version}, so its plan may say redeploy: true.
      fs.writeFileSync(planFile, fs.readFileSync(planFile, 'utf8').replace('  environment: production\n', '  environment: production\n  redeploy: true\n'));
      git('commit', '-qam', 'chore: the plan may redeploy');
      git('tag', '-f', 'v1.2.3');
      cli(0);
      git('commit', '-q', '--allow-empty', '-m', 'feat: orders export to CSV');
      git('commit', '-q', '--allow-empty', '-m', 'fix: totals rounded to the cent');
      fs.writeFileSync(path.join(folder, 'health.txt'), '0\n');
      fs.writeFileSync(planFile, fs.readFileSync(planFile, 'utf8').replace('version: 1.2.3', 'version: 1.2.4'));
      git('commit', '-qam', 'chore: 1.2.4');
      git('tag', 'v1.2.4');
      cli(3);
      runIds.push(...fs.readdirSync(runsDir()).sort());
      assert.equal(runIds.length, 2, runIds.join(' '));
    },
  });

  const releasesRow = (text: RegExp) => ui.wb.page.locator('#workbench\\.parts\\.panel .monaco-list-row', { hasText: text }).first();

  /**
   * Opens a row's context menu with a right click and runs `item` from it with the keyboard: arrows
   * until the item is the focused one, then Enter (on VS Code 1.100 a click on the menu item was lost).
   * The row commands need a trusted workspace, and VS Code sets `isWorkspaceTrusted` only once the
   * workbench is restored: until then the item shows greyed out (a grading CI run opened the menu in
   * that moment). Like a person, the menu is closed and opened again until the item is enabled.
   */
  async function fromRowMenu(row: Locator, item: string): Promise<void> {
    const end = Date.now() + 30_000;
    let labels: string[];
    for (let greyed = 0; ; greyed++) {
      await row.click({ button: 'right' });
      await ui.wb.page.locator('.monaco-menu .action-item', { hasText: item }).first().waitFor({ timeout: 15_000 });
      labels = await ui.wb.page.locator('.monaco-menu .action-item:not(.disabled) .action-label').allInnerTexts();
      if (labels.some((l) => l.includes(item)) || Date.now() > end) {
        if (greyed) console.log(`      "${item}" was greyed out ${greyed} time(s) before the workbench was restored`);
        break;
      }
      await ui.wb.page.keyboard.press('Escape');
      await ui.wb.page.locator('.monaco-menu').first().waitFor({ state: 'hidden', timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 500));
    }
    for (let i = 0; i <= labels.length; i++) {
      await ui.wb.page.keyboard.press('ArrowDown');
      const focused = await ui.wb.page
        .locator('.monaco-menu .action-item.focused')
        .first()
        .innerText({ timeout: 2000 })
        .catch(() => '');
      if (focused.includes(item)) {
        await ui.wb.page.keyboard.press('Enter');
        await ui.wb.page.locator('.monaco-menu').first().waitFor({ state: 'hidden', timeout: 10_000 });
        return;
      }
    }
    const all = await ui.wb.page.locator('.monaco-menu .action-item .action-label').allInnerTexts();
    throw new Error(`"${item}" was never the focused item of the menu; enabled: ${labels.join(' | ')}; all: ${all.join(' | ')}`);
  }

  it('Compare with Another Release…: picks the other run, and the panel shows both monitoring windows and the changelog between them', async () => {
    await ui.wb.command('Focus on Releases View');
    const rolledBack = releasesRow(/1\.2\.4\s*rolled-back · production/);
    await rolledBack.waitFor({ timeout: 30_000 });
    await fromRowMenu(rolledBack, 'Compare with Another Release');
    const other = ui.wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: '1.2.3' }).first();
    await other.waitFor({ timeout: 30_000 });
    assert.match(await other.innerText(), new RegExp(`released[\\s\\S]*run ${runIds[0]}`));
    assert.equal(await ui.wb.page.locator('.quick-input-widget .monaco-list-row').count(), 1, 'only the other run of the plan is offered');
    await ui.wb.chooseRow(other);

    const view = ui.wb.webview();
    const titles = view.locator('#compare-runs .compare-run-title');
    await titles.nth(1).waitFor({ timeout: 30_000 });
    assert.deepEqual(await titles.allInnerTexts(), ['1.2.3 · released', '1.2.4 · rolled-back']);
    await ui.wb.page.locator('.tab', { hasText: 'Compare 1.2.3 ↔ 1.2.4' }).first().waitFor({ timeout: 10_000 });
    // Each window: its guard, baseline, samples and verdict, drawn as a chart.
    const sides = view.locator('#compare-runs .compare-run');
    for (const [i, verdict] of [
      [0, /Verdict: pass/],
      [1, /Verdict: breached: 0\.00 against its guard min 1/],
    ] as const) {
      const text = await sides.nth(i).innerText();
      assert.match(text, /Guard: min 1/);
      assert.match(text, /Baseline: 1\.00 \(fixed\)/);
      assert.match(text, verdict);
      assert.equal((await sides.nth(i).locator('.compare-metric canvas').count()) > 0, true, `chart of side ${i}`);
    }
    assert.match(await sides.nth(1).innerText(), /Rolled back\s+guard: health: 0\.00 is below the minimum 1\.00/i);
    const changelog = await view.locator('#compare-changelog').innerText();
    assert.match(changelog, new RegExp(`Changes 1\\.2\\.3 \\(run ${runIds[0]}\\) → 1\\.2\\.4 \\(run ${runIds[1]}\\)`));
    assert.match(changelog, /Added\s+orders export to CSV\s+Fixed\s+totals rounded to the cent/);
    assert.match(changelog, /Not listed: 1 commit\(s\) of hidden types \(chore 1\)\./);
    // The README's screenshots: the panel with the room a person gives it (side bar and bottom panel closed).
    await ui.wb.page.locator('#workbench\\.parts\\.statusbar').click({ position: { x: 600, y: 5 } });
    await ui.wb.page.keyboard.press('Control+B');
    await ui.wb.page.keyboard.press('Control+J');
    await ui.wb.page.locator('#workbench\\.parts\\.panel').waitFor({ state: 'hidden', timeout: 10_000 });
    await ui.wb.page.locator('#workbench\\.parts\\.sidebar').waitFor({ state: 'hidden', timeout: 10_000 });
    await ui.wb.page.mouse.move(1, 1);
    await ui.wb.shot('compare-releases');
    await view.locator('#compare-changelog').scrollIntoViewIfNeeded();
    await ui.wb.shot('compare-changelog');
    await ui.wb.page.locator('#workbench\\.parts\\.statusbar').click({ position: { x: 600, y: 5 } });
    await ui.wb.page.keyboard.press('Control+B');
  });

  it('Redeploy This Version, chosen from a released row’s menu, starts that redeploy: its go/no-go question, then its run', async () => {
    await ui.wb.command('Focus on Releases View');
    const released = releasesRow(/1\.2\.3\s*released · production/);
    await released.waitFor({ timeout: 30_000 });
    await fromRowMenu(released, 'Redeploy This Version');
    await ui.wb.answerDialog('Manual check: Product owner sign-off', 'Done');
    const question = ui.wb.page.locator('.monaco-dialog-box', { hasText: 'Redeploy fixture-app 1.2.3' });
    await question.waitFor({ timeout: 30_000 });
    assert.match(await question.innerText(), new RegExp(`Redeploy fixture-app 1\\.2\\.3, released before in run ${runIds[0]}, to production\\?`));
    await ui.wb.answerDialog('Redeploy fixture-app 1.2.3', 'Redeploy');
    // The redeploy's own run: the newest row of the view, and a journal that names the run it came from.
    await ui.wb.command('Focus on Releases View');
    // The Releases view's rows (the panel also lists the terminals' tabs): version, then outcome · environment · start.
    const rows = ui.wb.page.locator('#workbench\\.parts\\.panel .monaco-list-row', { hasText: / · production · \d{4}-\d\d-\d\d \d\d:\d\d/ });
    // Read at once: when the redeploy's terminals open, the panel shows them instead and the view's rows leave the page.
    let texts: string[] = [];
    const end = Date.now() + 45_000;
    for (let i = 1; Date.now() < end; i++) {
      texts = await rows.allInnerTexts();
      if (texts.length >= 3) break;
      if (i % 12 === 0) await ui.wb.command('Focus on Releases View');
      await ui.wb.page.waitForTimeout(250);
    }
    assert.equal(texts.length, 3, texts.join(' | '));
    assert.match(texts[0], /^1\.2\.3\s*(running|released|rolled-back) · production · /);
    const newest = fs
      .readdirSync(runsDir())
      .sort()
      .filter((d) => !runIds.includes(d));
    assert.equal(newest.length, 1, newest.join(' '));
    const started = journal(newest[0]).find((e) => e.type === 'release.started');
    assert.equal(started?.version, '1.2.3');
    assert.deepEqual((started?.redeployOf as { runId: string } | undefined)?.runId, runIds[0]);
    // Its phases run: the deploy of 1.2.3 is journalled (the plan's monitor then judges it, as any release).
    const endDeploy = Date.now() + 60_000;
    while (!journal(newest[0]).some((e) => e.type === 'phase.started' && e.phase === 'deploy') && Date.now() < endDeploy) await ui.wb.page.waitForTimeout(250);
    assert.ok(
      journal(newest[0]).some((e) => e.type === 'phase.started' && e.phase === 'deploy'),
      'the redeploy reached its deploy phase',
    );
  });
});
