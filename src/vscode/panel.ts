import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import type { ReleaseController } from './controller';
import { panelSnapshot, reportView } from './snapshot';
import { FromWebview, type ComparisonView, type Snapshot, type ToWebview } from '../webview/protocol';
import { COMMANDS } from './commandIds';
import { Disposable } from './dispose';

export const PANEL_TYPE = 'releasePilot.panel';

/**
 * The monitor and report panel. It shows the controller's release state; of its own it keeps only
 * what a view needs: the tab shown, whether the webview is ready, and samples waiting to be sent.
 */
export class ReleasePanel extends Disposable {
  static current: ReleasePanel | undefined;
  private ready = false;
  private tab: Snapshot['tab'] = 'monitor';
  /** Two runs compared (Compare with Another Release), shown in the Compare tab until another comparison replaces it. */
  private comparison: ComparisonView | null = null;
  private pending: Record<string, { value: number | null; status: string; message?: string }> = {};
  private flushTimer: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  /** Time the webview took to apply its last update, as it measured it. */
  lastApplyMs: number | undefined;

  /** Opens the monitor when a release's deploy phase starts, unless the setting says not to. */
  static openOnDeploy(extensionUri: vscode.Uri, c: ReleaseController): vscode.Disposable {
    return c.onDidAppend((e) => {
      if (e.type !== 'phase.started' || e.phase !== 'deploy') return;
      if (vscode.workspace.getConfiguration('releasePilot').get<boolean>('openMonitorOnDeploy', true)) ReleasePanel.show(extensionUri, c, 'monitor');
    });
  }

  static show(extensionUri: vscode.Uri, c: ReleaseController, tab: Snapshot['tab']): ReleasePanel {
    if (ReleasePanel.current) {
      ReleasePanel.current.tab = tab;
      ReleasePanel.current.panel.reveal(undefined, true);
      ReleasePanel.current.sendSnapshot();
      return ReleasePanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      PANEL_TYPE,
      'Release',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      ReleasePanel.options(extensionUri),
    );
    return (ReleasePanel.current = new ReleasePanel(panel, extensionUri, c, tab));
  }

  /** Opens the panel on its Compare tab, showing `comparison`. */
  static compare(extensionUri: vscode.Uri, c: ReleaseController, comparison: ComparisonView): ReleasePanel {
    const panel = ReleasePanel.current ?? ReleasePanel.show(extensionUri, c, 'compare');
    panel.comparison = comparison;
    panel.tab = 'compare';
    panel.panel.reveal(undefined, true);
    panel.sendSnapshot();
    return panel;
  }

  static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')] };
  }

  /** Adopts a panel VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, c: ReleaseController, state: unknown): ReleasePanel {
    panel.webview.options = ReleasePanel.options(extensionUri);
    const tab = (state as { tab?: string } | undefined)?.tab === 'report' ? 'report' : 'monitor';
    return (ReleasePanel.current = new ReleasePanel(panel, extensionUri, c, tab));
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly c: ReleaseController,
    tab: Snapshot['tab'],
  ) {
    super();
    this.register(panel);
    this.register({
      dispose: () => {
        clearTimeout(this.flushTimer);
        clearTimeout(this.snapshotTimer);
      },
    });
    this.tab = tab;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'rocket.svg');
    panel.webview.html = this.html();
    this.updateTitle();
    this.register(panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw)));
    this.register(panel.onDidDispose(() => this.dispose()));
    this.register(
      c.onDidAppend((e) => {
        if (e.type === 'metric.sample') {
          // Warm-up samples are not judged: the chart, like the snapshot, shows the judged ones.
          if (e.warmup) return;
          this.pending[e.metric] = { value: e.value, status: e.status, message: e.message };
          this.flushTimer ??= setTimeout(() => this.flush(), 50);
        } else this.scheduleSnapshot();
      }),
    );
    this.register(c.onDidChange(() => this.scheduleSnapshot()));
  }

  /** The webview answered the ready handshake: messages posted now are received. */
  get isReady(): boolean {
    return this.ready;
  }

  private updateTitle(): void {
    const s = this.c.state;
    const [a, b] = this.comparison?.runs ?? [];
    if (this.tab === 'compare' && a && b) this.panel.title = `Compare ${a.title.split(' · ')[0]} ↔ ${b.title.split(' · ')[0]}`;
    else this.panel.title = s ? `Release ${s.version}` : 'Release';
  }

  private scheduleSnapshot(): void {
    this.snapshotTimer ??= setTimeout(() => {
      this.snapshotTimer = undefined;
      this.sendSnapshot();
    }, 250);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const values = this.pending;
    this.pending = {};
    if (Object.keys(values).length) this.post({ type: 'samples', at: Date.now() / 1000, values });
  }

  sendSnapshot(): void {
    this.updateTitle();
    const plan = this.c.plan?.ok ? this.c.plan.plan : undefined;
    this.post({ type: 'snapshot', snapshot: panelSnapshot(this.c.state, plan, this.tab, this.c.rollbackUntil(), this.comparison) });
  }

  private post(m: ToWebview): void {
    // A hidden or not yet ready webview drops messages: it asks for a full snapshot when it is ready.
    if (!this.ready) return;
    void this.panel.webview.postMessage(m);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = FromWebview.safeParse(raw);
    if (!parsed.success) return;
    const m = parsed.data;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.sendSnapshot();
        break;
      case 'rollback':
        await vscode.commands.executeCommand(COMMANDS.rollback);
        break;
      case 'tab':
        this.tab = m.tab;
        this.updateTitle();
        break;
      case 'openMarkdown':
        await vscode.commands.executeCommand(COMMANDS.openReport, 'markdown');
        break;
      case 'copyReport':
        if (this.c.state) {
          await vscode.env.clipboard.writeText(reportView(this.c.state).markdown);
          void vscode.window.showInformationMessage('Release report copied as Markdown.');
        }
        break;
      case 'applied':
        this.lastApplyMs = m.ms;
        break;
    }
  }

  private html(): string {
    const w = this.panel.webview;
    const nonce = crypto.randomBytes(18).toString('base64');
    const script = w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js'));
    const style = w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.css'));
    const csp = [
      `default-src 'none'`,
      `img-src ${w.cspSource} data:`,
      `style-src ${w.cspSource}`,
      `font-src ${w.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Release</title>
</head>
<body>
<header>
  <h1 id="release-title">Release</h1>
  <div id="status"></div>
  <nav><button id="tab-monitor" class="tab">Monitor</button><button id="tab-report" class="tab">Report</button><button id="tab-compare" class="tab" hidden>Compare</button></nav>
  <div id="countdown"></div>
  <button id="rollback" class="danger" hidden>Roll Back</button>
</header>
<main>
  <section id="monitor"><h2>Metrics</h2><table id="metrics-table"><thead><tr><th>Metric</th><th>Current</th><th>Baseline</th><th>Guard</th><th>Verdict</th></tr></thead><tbody></tbody></table><div id="charts"></div></section>
  <section id="compare" hidden><h2 id="compare-title"></h2><div id="compare-runs"></div><div id="compare-changelog"></div></section>
  <section id="report" hidden><div class="actions"><button id="open-md">Open as Markdown</button><button id="copy">Copy</button></div><div id="report-body"></div></section>
</main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  override dispose(): void {
    if (ReleasePanel.current === this) ReleasePanel.current = undefined;
    super.dispose();
  }
}
