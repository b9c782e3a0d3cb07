import * as vscode from 'vscode';
import { foldRefused, releaseHistory, shortTime, type HistoryRow } from '../core/engine/queries/releaseHistory';
import { runsDir } from '../core/engine/queries/runs';
import { formatDuration } from '../core/format';
import { rowLook } from './rowState';
import { showState } from './treeNodes';

/** How often the Releases view reads the plan's shared store, when the plan has one. */
export const STORE_REFRESH_MS = 10_000;

/** The one collapsed node that holds the refused attempts (runs that ended before any step ran). */
export interface RefusedAttempts {
  refusedAttempts: HistoryRow[];
}
export type HistoryNode = HistoryRow | RefusedAttempts;
const isGroup = (n: HistoryNode): n is RefusedAttempts => 'refusedAttempts' in n;

/**
 * The "Releases" view: every release of this workspace, newest first, a click opens its report; the refused
 * attempts folded under one collapsed "Refused attempts (N)" node, as `release-pilot history` counts them.
 */
export class HistoryProvider implements vscode.TreeDataProvider<HistoryNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<HistoryNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private timer: NodeJS.Timeout | undefined;
  rows: HistoryRow[] = [];
  /** Whether the view has read the rows once (before that, a refresh always redraws). */
  private read = false;
  /** The row selected in the view (set by the view): what a row command acts on when it came without its row. */
  selected: () => HistoryRow | undefined = () => undefined;

  /**
   * `syncStore`: copies the plan's shared store into the workspace, false when the plan has none; called every
   * `STORE_REFRESH_MS`, so runs made on other machines (who and where) appear here too.
   */
  constructor(
    private readonly workspaceDir: () => string | undefined,
    syncStore?: () => Promise<boolean>,
  ) {
    // Just after activation, which only registers.
    const soon = setImmediate(() => this.watch());
    this.disposables.push({ dispose: () => clearImmediate(soon) });
    if (!syncStore) return;
    let syncing = false;
    const every = setInterval(() => {
      if (syncing) return;
      syncing = true;
      syncStore()
        .then((synced) => synced && this.refresh())
        .catch(() => undefined)
        .finally(() => (syncing = false));
    }, STORE_REFRESH_MS);
    every.unref();
    this.disposables.push({ dispose: () => clearInterval(every) });
  }

  /** A run started from the CLI, or in another window, appears here too. */
  private watch(): void {
    const dir = this.workspaceDir();
    if (!dir) return;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(runsDir(dir)), '*/{journal.jsonl,report.md}'));
    this.disposables.push(
      watcher,
      watcher.onDidCreate(() => this.refreshSoon()),
      watcher.onDidChange(() => this.refreshSoon()),
      watcher.onDidDelete(() => this.refreshSoon()),
    );
  }

  /** Reads the runs again within a second, at most once a second (a running release writes its journal often). */
  refreshSoon(): void {
    this.timer ??= setTimeout(() => this.refresh(), 1000);
  }

  /**
   * Redraws the view when the runs changed. An unchanged list is left alone: a redraw makes VS Code
   * forget its rows until it reads them again, and a row's menu command run in that moment arrives
   * without its row (a fresh-clone CI run met this a second after the window opened).
   */
  refresh(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const dir = this.workspaceDir();
    if (this.read && JSON.stringify(dir ? releaseHistory(dir) : []) === JSON.stringify(this.rows)) return;
    this.changed.fire(undefined);
  }

  getChildren(element?: HistoryNode): HistoryNode[] {
    if (element) return isGroup(element) ? element.refusedAttempts : [];
    const dir = this.workspaceDir();
    this.rows = dir ? releaseHistory(dir) : [];
    this.read = true;
    const { releases, refused } = foldRefused(this.rows);
    return refused.length ? [...releases, { refusedAttempts: refused }] : releases;
  }

  getTreeItem(n: HistoryNode): vscode.TreeItem {
    if (!isGroup(n)) return this.rowItem(n);
    const item = new vscode.TreeItem(`Refused attempts (${n.refusedAttempts.length})`, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = 'refused-attempts';
    item.tooltip = 'Runs that ended before any step ran (a gate refused, the go/no-go question was not answered): they changed nothing.';
    item.contextValue = 'refused-attempts';
    return showState(item, rowLook('refused-attempts', 'refused'));
  }

  private rowItem(r: HistoryRow): vscode.TreeItem {
    const item = new vscode.TreeItem(r.version, vscode.TreeItemCollapsibleState.None);
    item.id = r.runId;
    const status = r.live && r.status !== 'running' ? `${r.status} (live)` : r.status;
    item.description = [
      status,
      r.environment,
      shortTime(r.startedAt),
      r.durationMs !== undefined ? formatDuration(r.durationMs) : undefined,
      r.madeElsewhere ?? r.user,
    ]
      .filter(Boolean)
      .join(' · ');
    const tip = new vscode.MarkdownString();
    tip.appendText(`${r.name} ${r.version} → ${r.environment}: ${r.status}\n`);
    tip.appendText(
      `Run ${r.runId}, started ${shortTime(r.startedAt)} by ${r.madeElsewhere ? `${r.madeElsewhere} (another machine or workspace, through the store)` : r.user}${r.durationMs !== undefined ? `, took ${formatDuration(r.durationMs)}` : ''}\n`,
    );
    if (r.commit) tip.appendText(`Commit ${r.commit.slice(0, 12)}\n`);
    if (r.previousVersion) tip.appendText(`Previous version ${r.previousVersion}\n`);
    if (r.serving)
      tip.appendText(r.serving === 'yes' ? `Serving ${r.environment} now\n` : `May still serve ${r.environment}: what serves there is uncertain\n`);
    if (r.rollback) tip.appendText(`Rolled back (${r.rollback.trigger}): ${r.rollback.reason}${r.rollback.outcome ? ` — ${r.rollback.outcome}` : ''}\n`);
    if (r.outcomeMessage) tip.appendText(r.outcomeMessage);
    item.tooltip = tip;
    item.contextValue = `run:${r.status}`;
    item.command = { command: 'releasePilot.openRunReport', title: 'Open Report', arguments: [r] };
    return showState(item, rowLook('run', r.status));
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}

/** The Releases view, refreshed when the release shown in the Release view changes run or state. */
export function createHistoryView(
  controller: { onDidChange: vscode.Event<unknown>; state?: { runId: string; status: string } },
  history: HistoryProvider,
): vscode.Disposable {
  const view = vscode.window.createTreeView('releasePilot.history', { treeDataProvider: history });
  // As read now: a refresh may have replaced the selected object with a newer one of the same run.
  history.selected = () => {
    const picked = view.selection[0];
    if (!picked || isGroup(picked)) return undefined;
    return history.rows.find((r) => r.runId === picked.runId) ?? picked;
  };
  let shown = '';
  const listener = controller.onDidChange(() => {
    const key = `${controller.state?.runId}:${controller.state?.status}`;
    if (key !== shown) history.refreshSoon();
    shown = key;
  });
  return vscode.Disposable.from(view, listener);
}

/** Opens a run's report as rendered Markdown (the report as a person reads it), or as text when no preview exists. */
export async function openRunReport(r: HistoryRow): Promise<void> {
  const uri = vscode.Uri.file(r.report);
  try {
    await vscode.workspace.fs.stat(uri);
  } catch {
    throw new Error(`run ${r.runId} has no report yet (${r.report})`);
  }
  const all = await vscode.commands.getCommands(true);
  if (all.includes('markdown.showPreview')) await vscode.commands.executeCommand('markdown.showPreview', uri);
  else await vscode.window.showTextDocument(uri, { preview: true });
}

export async function openRunJournal(r: HistoryRow): Promise<void> {
  await vscode.window.showTextDocument(vscode.Uri.file(r.journal), { preview: true });
}
