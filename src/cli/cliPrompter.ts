import * as readline from 'node:readline/promises';
import type { ChecklistItem } from '../core/model/schema';
import { currentUser, type ChecklistDecision, type FailureDecision, type FailureInfo, type Prompter } from '../core/engine/run/engine';
import type { Breach, BreachDecision } from '../core/monitor/monitorPorts';
import type { RollbackQuestion } from '../core/engine/gates/rollbackAdmission';
import type { Io } from './io';

export interface CliAnswers {
  yes: boolean;
  interactive: boolean;
  ticks: Set<string>;
  waivers: Map<string, string>;
  retry: boolean;
  workspace: string;
  late: boolean;
}

/** The answer, or undefined when the input ended (Ctrl-D, a closed terminal): nobody is there to answer. */
async function ask(q: string): Promise<string | undefined> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  // In a terminal readline takes Ctrl-C itself; it must stop the release like any SIGINT.
  rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
  try {
    return await new Promise<string | undefined>((resolve, reject) => {
      rl.once('close', () => resolve(undefined));
      rl.question(q).then((a) => resolve(a.trim()), reject);
    });
  } finally {
    rl.close();
  }
}

/** The CLI's answers: from the flags, else asked in the terminal, else the safe answer. */
export class CliPrompter implements Prompter {
  // The person who runs the CLI, as git knows them (the same name the engine journals), else the login.
  private user: string | undefined;
  // Steps the person asked to run again with --retry: that is their confirmation for each.
  private readonly retried = new Set<string>();

  constructor(
    private readonly io: Io,
    private readonly opt: CliAnswers,
  ) {}

  private async who(): Promise<string> {
    return (this.user ??= await currentUser(this.opt.workspace));
  }

  async confirm(message: string, about?: { step?: string }): Promise<boolean> {
    if (this.opt.yes) return true;
    if (about?.step && this.retried.delete(about.step)) {
      this.io.err(`confirmed by --retry: ${message.split('\n')[0]}`);
      return true;
    }
    if (!this.opt.interactive) {
      this.io.err(`not confirmed (no terminal to ask; pass --yes): ${message}`);
      return false;
    }
    return /^y(es)?$/i.test((await ask(`${message} [y/N] `)) ?? '');
  }

  async onFailure(f: FailureInfo): Promise<FailureDecision> {
    this.io.err(`\n✗ ${f.step.name} failed: ${f.message}`);
    if (this.opt.retry && f.step.state === 'interrupted') {
      this.retried.add(f.step.key);
      return { action: 'retry' };
    }
    if (!this.opt.interactive) return this.opt.yes && f.rollbackAvailable ? { action: 'rollback' } : { action: 'pause' };
    for (;;) {
      const a = (await ask(`[r]etry, roll [b]ack, [w]aive with a reason, or [p]ause? `))?.toLowerCase();
      if (a === undefined || a === 'p') return { action: 'pause' };
      if (a === 'r') return { action: 'retry' };
      if (a === 'b') return { action: 'rollback' };
      if (a === 'w') {
        const reason = await ask('reason: ');
        if (reason === undefined) return { action: 'pause' };
        if (reason) return { action: 'waive', reason };
      }
    }
  }

  // The failed item and its detail were just printed from the journal's event; saying it again here doubled every line.
  async onChecklistFailed(item: ChecklistItem): Promise<ChecklistDecision> {
    const w = this.opt.waivers.get(item.id);
    if (w) return { action: 'waive', reason: w };
    if (!this.opt.interactive) return { action: 'abort' };
    const a = (await ask('[r]etry, [w]aive with a reason, or [a]bort? '))?.toLowerCase();
    if (a === 'r') return { action: 'retry' };
    if (a === 'w') return { action: 'waive', reason: (await ask('reason: ')) ?? '' };
    return { action: 'abort' };
  }

  async tickManual(item: ChecklistItem): Promise<string | undefined> {
    if (this.opt.ticks.has(item.id)) return this.who();
    if (!this.opt.interactive) return undefined;
    return /^y(es)?$/i.test((await ask(`manual check — ${item.title}: done? [y/N] `)) ?? '') ? this.who() : undefined;
  }

  async onBreach(b: Breach): Promise<BreachDecision> {
    this.io.err(`! ${b.reason}`);
    if (!this.opt.interactive) return 'rollback';
    const a = (await ask('roll [b]ack, [c]ontinue watching, or [p]ause? '))?.toLowerCase();
    return a === 'c' ? 'continue' : a === 'p' ? 'pause' : 'rollback';
  }

  async notify(message: string): Promise<void> {
    this.io.out(`📣 ${message}`);
  }

  async confirmRollback(q: RollbackQuestion): Promise<boolean> {
    // A late rollback is confirmed as late: --yes given for an ordinary rollback never starts one.
    if (q.lateByMs !== undefined) {
      if (this.opt.yes && this.opt.late) return true;
      if (!this.opt.interactive) {
        this.io.err(`not confirmed (no terminal to ask; a late rollback needs --yes --late): ${q.message}`);
        return false;
      }
      this.io.err(q.message);
      return /^late$/i.test((await ask('The rollback window has closed. Type "late" to roll back anyway: ')) ?? '');
    }
    return this.confirm(q.message);
  }
}
