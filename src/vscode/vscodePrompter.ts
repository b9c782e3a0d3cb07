import * as vscode from 'vscode';
import type { ChecklistDecision, FailureDecision, FailureInfo, Prompter, Release } from '../core/engine/run/engine';
import type { ChecklistItem } from '../core/model/schema';
import type { Breach, BreachDecision } from '../core/monitor/monitorPorts';
import type { ReleaseState } from '../core/model/releaseState';
import type { RollbackQuestion } from '../core/engine/gates/rollbackAdmission';

export interface PrompterContext {
  user(): Promise<string>;
  /** Manual items a person ticked in the tree before the release asked. */
  ticked(id: string): string | undefined;
  /** Checklist waivers given from the tree before the release asked. */
  waived(id: string): string | undefined;
  state(): ReleaseState | undefined;
}

/** The one waive question, from a failure dialog or from the tree: a reason of a few words, or undefined. */
export async function askWaiveReason(what: string): Promise<string | undefined> {
  const reason = await vscode.window.showInputBox({
    title: `Waive ${what}`,
    prompt: 'Why is it safe to go on without it? The reason and your name go into the release journal and the report.',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim().length < 5 ? 'Write a reason of a few words' : undefined),
  });
  return reason?.trim() || undefined;
}

export async function askAbandonReason(version: string): Promise<string | undefined> {
  const reason = await vscode.window.showInputBox({
    title: `Abandon release ${version}`,
    prompt: 'Why is this release given up without a rollback? Your name and this reason go into the journal and the report.',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim().length < 5 ? 'Write a reason of a few words' : undefined),
  });
  return reason?.trim() || undefined;
}

/** Ctrl-C in a phase's terminal: the running step is cancelled once the person confirms (the release asked then, if any). */
export async function askCancelStep(live: () => Release | undefined): Promise<void> {
  if (!live()) return;
  const pick = await vscode.window.showWarningMessage(
    'Cancel the running step? Its whole process tree is ended; then you choose: retry, roll back, waive or pause.',
    { modal: true },
    'Cancel Step',
  );
  if (pick === 'Cancel Step') live()!.cancelStep();
}

/** Every question the extension asks about a release: the engine's, and the two Start Release asks over an unfinished run. */
export interface ReleasePrompts extends Prompter {
  confirmRollback(q: RollbackQuestion): Promise<boolean>;
  decideRestore(message: string): Promise<'restore' | 'decline' | undefined>;
  /** A paused or interrupted run blocks a new one: "Resume", "Abandon…" or nothing. */
  unresolved(message: string, detail: string): Thenable<string | undefined>;
  abandonReason(version: string): Thenable<string | undefined>;
}

/**
 * Who answers: a person through VS Code's dialogs, unless an answerer registered through the
 * extension's API (automation, another extension) answers some of the questions. The newest wins.
 */
export class Answerers {
  private readonly registered: Partial<ReleasePrompts>[] = [];

  register(answers: Partial<ReleasePrompts>): vscode.Disposable {
    this.registered.push(answers);
    return new vscode.Disposable(() => {
      const i = this.registered.lastIndexOf(answers);
      if (i >= 0) this.registered.splice(i, 1);
    });
  }

  /** The questions as asked now: each by the newest answerer that answers it, else by `person`. */
  over(person: ReleasePrompts): ReleasePrompts {
    const o = this.registered.at(-1) ?? {};
    return {
      confirm: o.confirm ?? person.confirm.bind(person),
      onFailure: o.onFailure ?? person.onFailure.bind(person),
      onChecklistFailed: o.onChecklistFailed ?? person.onChecklistFailed.bind(person),
      tickManual: o.tickManual ?? person.tickManual.bind(person),
      onBreach: o.onBreach ?? person.onBreach.bind(person),
      notify: o.notify ?? person.notify.bind(person),
      confirmRollback: o.confirmRollback ?? person.confirmRollback.bind(person),
      decideRestore: o.decideRestore ?? person.decideRestore.bind(person),
      unresolved: o.unresolved ?? person.unresolved.bind(person),
      abandonReason: o.abandonReason ?? person.abandonReason.bind(person),
    };
  }
}

/** The questions a release asks, asked the VS Code way: modal where a wrong click costs production. */
export class VscodePrompter implements ReleasePrompts {
  constructor(private readonly ctx: PrompterContext) {}

  async confirm(message: string): Promise<boolean> {
    const s = this.ctx.state();
    const lines: string[] = [];
    if (s?.acceptance) lines.push(`Acceptance: ${s.acceptance.ok ? '✓' : '✗'} "${s.acceptance.expected}" (${s.acceptance.source})`);
    for (const c of s?.checklist ?? [])
      lines.push(
        `${c.state === 'passed' ? '✓' : c.state === 'waived' ? '~' : '✗'} ${c.title}${c.state === 'waived' ? ` — waived by ${c.by}: ${c.reason}` : ''}`,
      );
    const go = message.startsWith('Release ') ? 'Release' : message.startsWith('Redeploy ') ? 'Redeploy' : 'Run';
    const pick = await vscode.window.showWarningMessage(message, { modal: true, detail: lines.join('\n') || undefined }, go);
    return pick === go;
  }

  async onFailure(f: FailureInfo): Promise<FailureDecision> {
    const options = ['Retry', ...(f.rollbackAvailable ? ['Roll Back'] : []), 'Waive…', 'Pause'];
    const pick = await vscode.window.showErrorMessage(
      `${f.step.name} ${f.step.state === 'interrupted' ? 'was interrupted' : 'failed'}: ${f.message}`,
      { modal: true, detail: f.step.tail ? `Last output:\n${f.step.tail.split('\n').slice(-8).join('\n')}` : undefined },
      ...options,
    );
    if (pick === 'Retry') return { action: 'retry' };
    if (pick === 'Roll Back') return { action: 'rollback' };
    if (pick === 'Waive…') {
      const reason = await askWaiveReason(`"${f.step.name}"`);
      return reason ? { action: 'waive', reason } : { action: 'pause' };
    }
    return { action: 'pause' };
  }

  async onChecklistFailed(item: ChecklistItem, detail: string): Promise<ChecklistDecision> {
    const pre = this.ctx.waived(item.id);
    if (pre) return { action: 'waive', reason: pre };
    const pick = await vscode.window.showWarningMessage(`Checklist: ${item.title} — ${detail}`, { modal: true }, 'Retry', 'Waive…');
    if (pick === 'Retry') return { action: 'retry' };
    if (pick === 'Waive…') {
      const reason = await askWaiveReason(`"${item.title}"`);
      return reason ? { action: 'waive', reason } : { action: 'abort' };
    }
    return { action: 'abort' };
  }

  async tickManual(item: ChecklistItem): Promise<string | undefined> {
    const pre = this.ctx.ticked(item.id);
    if (pre) return pre;
    const pick = await vscode.window.showWarningMessage(
      `Manual check: ${item.title}`,
      { modal: true, detail: 'Confirm that this is done. Your name is recorded in the release journal.' },
      'Done',
    );
    return pick === 'Done' ? this.ctx.user() : undefined;
  }

  async onBreach(b: Breach): Promise<BreachDecision> {
    const pick = await vscode.window.showErrorMessage(`Guard breached: ${b.reason}`, { modal: true }, 'Roll Back', 'Keep Watching', 'Pause');
    return pick === 'Roll Back' ? 'rollback' : pick === 'Keep Watching' ? 'continue' : 'pause';
  }

  async notify(message: string): Promise<void> {
    void vscode.window.showInformationMessage(message);
  }

  /**
   * The Roll Back command already asked before it reached the engine; only what that dialog could
   * not know is asked here: a late rollback (the window closed) or one forced over a newer run.
   */
  async confirmRollback(q: RollbackQuestion): Promise<boolean> {
    if (q.lateByMs === undefined && q.forcedOver === undefined) return true;
    const go = q.lateByMs !== undefined ? 'Roll Back Late' : 'Roll Back Anyway';
    const pick = await vscode.window.showWarningMessage(q.message.split('\n')[0], { modal: true, detail: q.message.split('\n').slice(1).join('\n') }, go);
    return pick === go;
  }

  /** The rollback that waits before its restore: the count of the writes it discards, and both answers. */
  async decideRestore(message: string): Promise<'restore' | 'decline' | undefined> {
    const [head, ...rest] = message.split('\n');
    const restore = 'Restore (discard them)';
    const keep = 'Keep the Database (code only)';
    const pick = await vscode.window.showWarningMessage(head, { modal: true, detail: rest.join('\n') }, restore, keep);
    return pick === restore ? 'restore' : pick === keep ? 'decline' : undefined;
  }

  async unresolved(message: string, detail: string): Promise<string | undefined> {
    return vscode.window.showWarningMessage(message, { modal: true, detail }, 'Resume', 'Abandon…');
  }

  abandonReason(version: string): Promise<string | undefined> {
    return askAbandonReason(version);
  }
}
