import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Locator } from 'playwright-core';
import { host, useWorkbench, type Workbench } from './workbench';

/** What axe-core reports of one violated rule. */
interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

const THEMES = [
  { name: 'Default Light Modern', body: 'vscode-light' },
  { name: 'Default Dark Modern', body: 'vscode-dark' },
  { name: 'Default High Contrast', body: 'vscode-high-contrast' },
  // The older light theme, whose grey text is lighter: a label dimmed with opacity there reads at 3.9:1.
  { name: 'Default Light+', body: 'vscode-light' },
] as const;

/** The words a Release or Releases row says of its state, one of which every row with a state icon must speak. */
const STATE_WORDS =
  /^(Pending|Checking|Running|Passed|Failed|Waived|Blocked|Interrupted|Skipped|Paused|Open|Not started|Released|Rolled back|Rollback failed|Aborted|Abandoned|Refused|Invalid)\b/;
/** The icons that show a state in those views. */
const STATE_ICONS = [
  'circle-large-outline',
  'sync',
  'pass-filled',
  'error',
  'pass',
  'circle-slash',
  'debug-pause',
  'dash',
  'history',
  'trash',
  'warning',
  'circle-outline',
];

/**
 * axe-core in the release panel (each tab) and on the Release and Releases views, in the light, dark
 * and high-contrast themes, after two real releases: one released, one whose health guard breached
 * and was rolled back (so failed, passed and skipped states show).
 */
describe(`readable by everyone: axe-core in the release panel and the Release views, light, dark, high-contrast and Light+ themes (VS Code ${host.version})`, function () {
  let wb: Workbench;
  const axeSource = fs.readFileSync(path.join(host.root, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

  const cli = (folder: string, expected: number) => {
    const r = spawnSync(
      'node',
      [path.join(host.root, 'dist', 'cli.js'), 'run', '--yes', '--tick', 'sign-off', '--plan', path.join(folder, '.release', 'plan.yaml')],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, expected, r.stdout + r.stderr);
  };

  const ui = useWorkbench({
    fixture: 'ws-basic',
    prepare: (folder) => {
      // Two real releases from the CLI before the window opens: 1.2.3 released; then 1.2.4, whose
      // health probe reads 0, rolled back by the monitor (failed, passed and rolled-back rows).
      fs.mkdirSync(path.join(folder, 'state'), { recursive: true });
      fs.writeFileSync(path.join(folder, 'state', 'allow-deploy'), '');
      const git = (...a: string[]) => execFileSync('git', a, { cwd: folder, encoding: 'utf8' }).trim();
      const planFile = path.join(folder, '.release', 'plan.yaml');
      git('tag', '-f', 'v1.2.3');
      cli(folder, 0);
      git('commit', '-q', '--allow-empty', '-m', 'fix: totals rounded to the cent');
      fs.writeFileSync(path.join(folder, 'health.txt'), '0\n');
      fs.writeFileSync(planFile, fs.readFileSync(planFile, 'utf8').replace('version: 1.2.3', 'version: 1.2.4'));
      git('commit', '-qam', 'chore: 1.2.4');
      git('tag', 'v1.2.4');
      cli(folder, 3);
      setTheme(folder, THEMES[0].name);
    },
  });
  before(() => {
    wb = ui.wb;
  });

  /** The workspace's settings name the theme: VS Code applies a change of the file as it is saved. */
  function setTheme(folder: string, name: string): void {
    fs.mkdirSync(path.join(folder, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'workbench.colorTheme': name }, null, 2));
  }

  /** The release panel's inner document as a Playwright frame (a webview is two nested iframes). */
  async function panelFrame(): Promise<Frame> {
    const outer = await (await wb.page.locator('iframe.webview.ready').first().elementHandle())?.contentFrame();
    const inner = await (await outer?.locator('iframe#active-frame').elementHandle())?.contentFrame();
    if (!inner) throw new Error('the release panel has no document');
    return inner;
  }

  /** Runs axe-core in `frame` (its source injected there) and returns the violations that fail the test. */
  async function axe(frame: Frame, include?: string[]): Promise<Violation[]> {
    if (!(await frame.evaluate('typeof axe !== "undefined"'))) await frame.evaluate(axeSource);
    const result = await frame.evaluate<{ violations: Violation[] }>(
      `axe.run(${include ? JSON.stringify({ include: include.map((s) => [s]) }) : 'document'}, { resultTypes: ['violations'] })`,
    );
    // Serious and critical violations, and any skipped heading level (axe rates it moderate).
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical' || v.id === 'heading-order');
  }

  const describeAll = (where: string, vs: Violation[]) =>
    vs.map((v) => `${where}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary ?? ''}`).join('; ')}`);

  const releasesRow = (text: RegExp) => wb.page.locator('#workbench\\.parts\\.panel .monaco-list-row', { hasText: text }).first();

  /** Opens a row's context menu and runs `item` from it with the keyboard (see the Releases view's row menu test). */
  async function fromRowMenu(row: Locator, item: string): Promise<void> {
    const end = Date.now() + 30_000;
    for (;;) {
      await row.click({ button: 'right' });
      await wb.page.locator('.monaco-menu .action-item', { hasText: item }).first().waitFor({ timeout: 15_000 });
      const labels = await wb.page.locator('.monaco-menu .action-item:not(.disabled) .action-label').allInnerTexts();
      if (labels.some((l) => l.includes(item)) || Date.now() > end) break;
      await wb.page.keyboard.press('Escape');
      await wb.page.locator('.monaco-menu').first().waitFor({ state: 'hidden', timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 500));
    }
    for (let i = 0; i < 20; i++) {
      await wb.page.keyboard.press('ArrowDown');
      const focused = await wb.page
        .locator('.monaco-menu .action-item.focused')
        .first()
        .innerText({ timeout: 2000 })
        .catch(() => '');
      if (focused.includes(item)) {
        await wb.page.keyboard.press('Enter');
        await wb.page.locator('.monaco-menu').first().waitFor({ state: 'hidden', timeout: 10_000 });
        return;
      }
    }
    throw new Error(`"${item}" was never the focused item of the menu`);
  }

  /** Our views' trees: VS Code names each tree after its view. */
  const VIEW_LISTS = ['.monaco-list[aria-label="Release"]', '.monaco-list[aria-label="Releases"]'];

  /** Every row of our views: what a screen reader says of it, what it shows, and the icon that shows a state, if any. */
  async function viewRows(): Promise<{ label: string; shown: string; icon?: string }[]> {
    return wb.page.evaluate(
      ([lists, icons]) =>
        Array.from(document.querySelectorAll(lists.join(', '))).flatMap((list) =>
          Array.from(list.querySelectorAll('.monaco-list-row')).map((row) => ({
            label: row.getAttribute('aria-label') ?? '',
            shown: [row.querySelector('.label-name'), row.querySelector('.label-description')]
              .map((e) => e?.textContent ?? '')
              .join(' ')
              .trim(),
            icon: Array.from(row.querySelectorAll('.custom-view-tree-node-item-icon'))
              .flatMap((c) => Array.from(c.classList))
              .map((c) => c.replace(/^codicon-/, ''))
              .find((c) => icons.includes(c)),
          })),
        ),
      [VIEW_LISTS, STATE_ICONS] as const,
    );
  }

  it('opens the panel on the rolled-back release and on the comparison of both releases', async () => {
    await wb.openReleaseView();
    await wb.row(/fixture-app 1\.2\.4/).waitFor({ timeout: 60_000 });
    await wb.command('Focus on Releases View');
    const rolledBack = releasesRow(/1\.2\.4\s*rolled-back · production/);
    await rolledBack.waitFor({ timeout: 30_000 });
    await fromRowMenu(rolledBack, 'Compare with Another Release');
    const other = wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: '1.2.3' }).first();
    await other.waitFor({ timeout: 30_000 });
    await wb.chooseRow(other);
    await wb.webview().locator('#compare-runs .compare-run-title').nth(1).waitFor({ timeout: 30_000 });
  });

  for (const theme of THEMES)
    it(`has no serious or critical axe-core violation in ${theme.name}: each tab of the panel, the Release and Releases views`, async () => {
      setTheme(ui.folder, theme.name);
      await wb.webview().locator(`body.${theme.body}`).waitFor({ timeout: 30_000 });
      const found: string[] = [];
      for (const tab of ['monitor', 'report', 'compare'] as const) {
        await wb.webview().locator(`#tab-${tab}`).click();
        await wb.webview().locator(`section#${tab}:not([hidden])`).waitFor({ timeout: 10_000 });
        if (tab === 'monitor') await wb.webview().locator('#metrics-table tbody tr').first().waitFor({ timeout: 30_000 });
        if (tab === 'report') await wb.webview().locator('#report-body h2').first().waitFor({ timeout: 30_000 });
        found.push(...describeAll(`${theme.name} ${tab} tab`, await axe(await panelFrame())));
        await wb.shot(`a11y-${theme.name.replace(/\W+/g, '-')}-${tab}`);
      }
      // The views: the Release view in the side bar, the Releases view in the bottom panel.
      await wb.openReleaseView();
      await wb.row(/Phases/).waitFor({ timeout: 30_000 });
      await wb.command('Focus on Releases View');
      await releasesRow(/1\.2\.4\s*rolled-back/).waitFor({ timeout: 30_000 });
      await wb.openReleaseView();
      await wb.row(/Phases/).waitFor({ timeout: 30_000 });
      assert.equal(await wb.page.locator(VIEW_LISTS.join(', ')).count(), 2, 'the Release and Releases views are in the page');
      // label-content-name-mismatch is judged by our own check below: VS Code renders a row's label and
      // description as adjacent elements with no space between them, which axe reads as one word
      // ("1.2.4rolled-back") that no spoken name can contain.
      const views = await axe(wb.page.mainFrame(), VIEW_LISTS);
      found.push(
        ...describeAll(
          `${theme.name} views`,
          views.filter((v) => v.id !== 'label-content-name-mismatch'),
        ),
      );
      await wb.shot(`a11y-${theme.name.replace(/\W+/g, '-')}-views`);
      const rows = await viewRows();
      assert.ok(rows.filter((r) => r.icon).length >= 10, `rows with a state icon: ${JSON.stringify(rows)}`);
      const norm = (t: string) => t.replace(/\s+/g, ' ').trim();
      for (const r of rows) {
        if (r.icon && !STATE_WORDS.test(r.label)) found.push(`${theme.name} views: a row whose icon (${r.icon}) shows a state does not say it: "${r.label}"`);
        if (!norm(r.label).includes(norm(r.shown))) found.push(`${theme.name} views: a row's spoken name "${r.label}" leaves out what it shows: "${r.shown}"`);
      }
      assert.deepEqual(found, []);
    });
});
