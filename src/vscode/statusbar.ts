import * as vscode from 'vscode';
import type { ReleaseController } from './controller';
import { COMMANDS } from './commandIds';
import { Disposable } from './dispose';
import { formatCountdown } from '../core/format';

/** The rollback shortcut: shown while there is something to roll back, counting down the window. */
export class RollbackStatusBar extends Disposable {
  readonly item: vscode.StatusBarItem;
  /** Whether the item is shown (the API has no getter for it). */
  visible = false;

  constructor(private readonly c: ReleaseController) {
    super();
    this.item = this.register(vscode.window.createStatusBarItem('releasePilot.rollback', vscode.StatusBarAlignment.Left, 1000));
    this.item.name = 'Release Pilot: Roll Back';
    this.item.command = COMMANDS.rollback;
    this.register(c.onDidChange(() => this.render()));
    const timer = setInterval(() => this.render(), 1000);
    this.register({ dispose: () => clearInterval(timer) });
    this.render();
  }

  render(): void {
    const s = this.c.state;
    const until = this.c.rollbackUntil();
    if (!s || !until) {
      this.hide();
      return;
    }
    const v = s.version.startsWith('v') ? s.version : `v${s.version}`;
    if (s.status === 'rollback-failed') {
      this.item.text = `$(error) ROLLBACK FAILED ${v} · retry`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      this.item.tooltip = `The rollback of ${s.name} ${v} failed: ${s.rollback?.message ?? s.outcomeMessage}. Production needs a person now. Click to run the rollback again.`;
      this.show();
      return;
    }
    if (s.status === 'rolling-back') {
      this.item.text = `$(sync~spin) Rolling back ${v}…`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      this.item.tooltip = `Rolling back: ${s.rollback?.reason}`;
      this.show();
      return;
    }
    const untilMs = Date.parse(until);
    if (untilMs - Date.now() < 500 && !this.c.isRunning) {
      this.hide();
      return;
    }
    const breaching = Object.values(s.metrics).some((m) => m.last?.status === 'breach');
    this.item.text = `$(history) Roll back ${v} · ${formatCountdown(untilMs)}`;
    this.item.backgroundColor = breaching ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.tooltip = `${s.name} ${v} on ${s.environment} is ${s.status}. Click to roll back (asks first). The rollback window closes at ${new Date(until).toLocaleTimeString()}.${breaching ? '\nA guard is breaching right now.' : ''}`;
    this.show();
  }

  private show(): void {
    this.visible = true;
    this.item.show();
  }

  private hide(): void {
    this.visible = false;
    this.item.hide();
  }
}
