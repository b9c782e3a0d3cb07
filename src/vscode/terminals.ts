import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PHASE_TITLES, type PhaseId } from '../core/plan/schema';
import type { ReleaseEvent } from '../core/base/events';
import type { ReleaseState } from '../core/base/fold';
import { Disposable } from './dispose';
import { extendedText } from '../core/format';

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const DIM = '\x1b[2m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

export interface PtyControl {
  writeInput(data: string): void;
  /** Ctrl+C in a phase terminal: asks, then ends the running step's process tree. */
  interrupt(): Promise<void>;
}

/** The last output of a terminal, cut at a line start once it outgrows its bound. */
export class Scrollback {
  private text = '';
  /** Characters cut from the front so far: positions stay absolute across cuts. */
  private dropped = 0;

  constructor(private readonly limit: number) {}

  get end(): number {
    return this.dropped + this.text.length;
  }

  append(t: string): void {
    this.text += t;
    if (this.text.length <= this.limit) return;
    let cut = this.text.length - this.limit;
    const line = this.text.indexOf('\n', cut);
    if (line >= 0 && line < this.text.length - 1) cut = line + 1;
    this.text = this.text.slice(cut);
    this.dropped += cut;
  }

  /** What was appended from absolute position `pos` on (what is still kept of it). */
  since(pos: number): string {
    return this.text.slice(Math.max(0, pos - this.dropped));
  }
}

/** A terminal fed by the engine's runner: what a phase's steps print, with exact exit codes. */
export class PhasePty extends Disposable implements vscode.Pseudoterminal {
  /** About as much as VS Code's default scrollback of 1000 lines holds. */
  static readonly SCROLLBACK_CHARS = 256 * 1024;
  private readonly writeEmitter = this.register(new vscode.EventEmitter<string>());
  private readonly closeEmitter = this.register(new vscode.EventEmitter<number | void>());
  private readonly nameEmitter = this.register(new vscode.EventEmitter<string>());
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  readonly onDidChangeName = this.nameEmitter.event;
  private opened = false;
  private readonly history = new Scrollback(PhasePty.SCROLLBACK_CHARS);
  /** How much of the history the terminal was given: output written while it was not open waits for open(). */
  private shown = 0;
  private finished: number | undefined;

  constructor(
    private readonly control: PtyControl,
    private readonly name = '',
  ) {
    super();
  }

  /** The terminal's recent output (bounded), as a terminal opened now would show it. */
  get scrollback(): string {
    return this.history.since(0);
  }

  open(): void {
    this.opened = true;
    const unseen = this.history.since(this.shown);
    this.shown = this.history.end;
    if (unseen) this.writeEmitter.fire(unseen);
    // A phase that ended before its terminal was first shown: the name change was not heard then.
    if (this.finished !== undefined) this.fireName();
  }

  close(): void {
    this.opened = false;
  }

  handleInput(data: string): void {
    if (this.finished !== undefined) {
      this.closeEmitter.fire(this.finished);
      return;
    }
    if (data === '\x03') {
      void this.control.interrupt();
      return;
    }
    // Steps read a pipe, which does not echo: echo here so the person sees what they typed.
    this.write(data.replace(/\r/g, '\r\n'));
    this.control.writeInput(data.replace(/\r/g, '\n'));
  }

  write(text: string): void {
    const t = text.replace(/\r?\n/g, '\r\n');
    this.history.append(t);
    if (!this.opened) return;
    this.shown = this.history.end;
    this.writeEmitter.fire(t);
  }

  /** The phase ended: its terminal shows the result and closes with that exit code on the next key. */
  finish(code: number, line: string): void {
    this.write(`\n${code === 0 ? GREEN : RED}${BOLD}${line}${RESET}\n${DIM}Press any key to close this terminal.${RESET}\n`);
    this.finished = code;
    if (this.opened) this.fireName();
  }

  /** The tab says how the phase ended, so nine finished phases can be told apart without opening them. */
  private fireName(): void {
    if (this.name && this.finished !== undefined) this.nameEmitter.fire(`${this.finished === 0 ? '✓' : '✗'} ${this.name}`);
  }
}

export class PhaseTerminals extends Disposable {
  private readonly open = new Map<string, { terminal: vscode.Terminal; pty: PhasePty }>();

  constructor(private readonly control: PtyControl) {
    super();
    this.register(
      vscode.window.onDidCloseTerminal((t) => {
        for (const [k, v] of this.open)
          if (v.terminal === t) {
            this.open.delete(k);
            v.pty.dispose();
          }
      }),
    );
    this.register({
      dispose: () => {
        for (const { terminal, pty } of this.open.values()) {
          terminal.dispose();
          pty.dispose();
        }
        this.open.clear();
      },
    });
  }

  get terminals(): ReadonlyMap<string, { terminal: vscode.Terminal; pty: PhasePty }> {
    return this.open;
  }

  private get(key: 'rollback' | PhaseId, version: string, show = true): PhasePty {
    const found = this.open.get(key);
    if (found) return found.pty;
    const title = key === 'rollback' ? 'Rollback' : PHASE_TITLES[key];
    // The phase first: a narrow tab list cuts names at the end, and the phase is what differs.
    const name = `${title} · ${version}`;
    const pty = new PhasePty(this.control, name);
    const terminal = vscode.window.createTerminal({
      name,
      pty,
      iconPath: new vscode.ThemeIcon(key === 'rollback' ? 'history' : 'rocket'),
      color: new vscode.ThemeColor(key === 'rollback' ? 'terminal.ansiRed' : 'terminal.ansiBlue'),
    });
    this.open.set(key, { terminal, pty });
    if (show) terminal.show(true);
    return pty;
  }

  private phaseOfStep = new Map<string, PhaseId | 'rollback'>();

  onEvent(e: ReleaseEvent, s: ReleaseState): void {
    switch (e.type) {
      case 'phase.started':
        this.get(e.phase, s.version, !quietDuringRollback(e.phase, s)).write(
          `${BOLD}▶ ${PHASE_TITLES[e.phase]}${RESET} ${DIM}(${s.name} ${s.version} → ${s.environment})${RESET}\n`,
        );
        break;
      case 'step.started':
        this.phaseOfStep.set(e.step, e.phase);
        this.get(e.phase, s.version, !quietDuringRollback(e.phase, s)).write(`\n${BOLD}● ${e.name}${RESET}\n${DIM}$ ${e.command}${RESET}\n`);
        break;
      case 'step.finished': {
        const phase = this.phaseOfStep.get(e.step);
        if (!phase) break;
        const colour = e.ok ? GREEN : RED;
        const pty = this.get(phase, s.version);
        // A terminal opened after the step printed (closed by the person, or a pseudo-step) shows where it failed.
        if (!e.ok && e.tail && this.shownIn.get(e.step) !== pty) pty.write(`${DIM}last lines of its output:${RESET}\n${e.tail}\n`);
        pty.write(`${colour}${e.ok ? '✓' : '✗'} ${e.message} in ${(e.durationMs / 1000).toFixed(1)} s${RESET}\n`);
        break;
      }
      case 'step.waived': {
        const phase = this.phaseOfStep.get(e.step);
        if (phase) this.get(phase, s.version).write(`${YELLOW}~ waived by ${e.by}: ${e.reason}${RESET}\n`);
        break;
      }
      case 'phase.finished': {
        const t = this.open.get(e.phase);
        if (t && e.outcome !== 'skipped') t.pty.finish(e.outcome === 'failed' ? 1 : 0, `■ ${PHASE_TITLES[e.phase]} ${e.outcome}`);
        break;
      }
      case 'release.paused': {
        const phase = e.step ? this.phaseOfStep.get(e.step) : undefined;
        if (phase) this.get(phase, s.version).write(`${YELLOW}⏸ paused: ${e.message}${RESET}\n`);
        break;
      }
      case 'rollback.started':
        this.get('rollback', s.version).write(
          `${BOLD}${RED}⟲ Rollback${RESET} (${e.trigger}): ${e.reason}\n${DIM}started ${e.latencyMs} ms after the trigger${RESET}\n`,
        );
        break;
      case 'rollback.finished':
        this.get('rollback', s.version).finish(
          e.outcome === 'rolled-back' ? 0 : 1,
          e.outcome === 'rolled-back' ? '■ rolled back' : `■ ROLLBACK FAILED: ${e.message}`,
        );
        break;
      case 'metric.sample':
        if (e.status !== 'ok')
          this.get('monitoring', s.version, false).write(`${e.status === 'breach' ? RED : YELLOW}${e.metric}: ${e.message ?? e.status}${RESET}\n`);
        break;
      case 'monitoring.extended':
        this.get('monitoring', s.version, false).write(`${YELLOW}window ${extendedText(e.extraMs, e.reason)}${RESET}\n`);
        break;
      case 'guard.breached':
        if (e.confirmed) this.get('monitoring', s.version).write(`${RED}${BOLD}! ${e.metric} breached ${e.rule} (${e.consecutive} in a row)${RESET}\n`);
        break;
    }
  }

  private shownIn = new Map<string, PhasePty>();

  output(stepKey: string, chunk: string): void {
    const phase = this.phaseOfStep.get(stepKey);
    const pty = phase ? this.open.get(phase)?.pty : undefined;
    if (!pty) return;
    pty.write(chunk);
    this.shownIn.set(stepKey, pty);
  }

  /** After a reload: the phases that ran get their terminal back, with the logs their steps wrote. */
  restore(s: ReleaseState, runDir: string): void {
    for (const p of s.phases) {
      if (p.steps.length === 0 || this.open.has(p.id)) continue;
      const pty = this.get(p.id, s.version, false);
      pty.write(`${DIM}(restored from the journal of run ${s.runId})${RESET}\n`);
      for (const key of p.steps) {
        const st = s.steps[key];
        this.phaseOfStep.set(key, p.id);
        pty.write(`\n${BOLD}● ${st.name}${RESET}\n${DIM}$ ${st.command}${RESET}\n`);
        if (st.log) {
          try {
            pty.write(fs.readFileSync(path.join(runDir, st.log), 'utf8'));
          } catch {
            pty.write(`${DIM}(no log)${RESET}\n`);
          }
        }
        const colour = st.state === 'passed' ? GREEN : st.state === 'interrupted' || st.state === 'waived' ? YELLOW : RED;
        pty.write(`${colour}${st.state}${st.message ? `: ${st.message}` : ''}${RESET}\n`);
      }
    }
  }
}

/**
 * The rollback's announcement runs in the Announcement phase: its terminal opens without taking the
 * Rollback terminal's place, which a person watching the rollback keeps in front until it ends.
 */
function quietDuringRollback(phase: PhaseId | 'rollback', s: ReleaseState): boolean {
  return phase === 'announcement' && s.rollback !== undefined;
}
