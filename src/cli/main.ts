import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { formatProblem, loadPlanFile } from '../core/plan/load';
import { PHASE_TITLES, type Plan } from '../core/plan/schema';
import { currentUser, GateError, latestRunId, loadRun, Release, type EngineOptions, type Prompter } from '../core/engine/engine';
import { findUnresolvedRun, UnresolvedRunError } from '../core/engine/stop';
import { SignalStop } from './signals';
import { JournalWriteError, LockHeldError } from '../core/journal/journal';
import type { ReleaseEvent } from '../core/base/events';
import type { ReleaseState } from '../core/base/fold';
import { buildReport, renderMarkdown, writeReport } from '../core/report/report';
import { changelogCommand, isChangelogCommand } from './changelog-command';
import { unitsFor } from '../core/engine/units';
import { PHASES } from '../core/plan/schema';
import { interpolate, secretValues } from '../core/engine/interpolate';
import { SecretMasker } from '../core/exec/mask';
import { planUses, previewScope } from '../core/plan/scope';
import { previousVersionOf, previousVersionRefusal, resolveVersion } from '../core/engine/releaseFacts';
import { planJsonSchema } from '../core/plan/schema';
import { formatNumber } from '../core/format';

export const EXIT = { released: 0, failed: 1, usage: 2, rolledBack: 3 } as const;

const HELP = `release-pilot — gated, traceable, reversible releases

Usage: release-pilot <command> [options]

Commands:
  validate                 check the release plan; prints each problem as file:line:column
  run                      run a release of the plan (asks before it starts and before production steps);
                           refuses while a paused or interrupted run of the plan exists, and names it
  resume [RUN]             continue a paused or interrupted release
  abandon [RUN] --reason TEXT
                           end a paused or interrupted release without rolling back: ends the
                           processes its interrupted step left running and journals who and why
  status [RUN]             show the state of the newest (or the named) release
  rollback [RUN]           roll back the newest (or the named) release; asks first (no terminal: --yes)
  report [RUN]             print the report of a release and write report.md / report.json
  changelog                print the changelog of a range and the proposed bump (changelog --help)
  schema                   print the plan's JSON Schema

Options:
  --plan PATH              the plan (default .release/plan.yaml)
  --workspace DIR          where steps run (default: the folder that holds .release/)
  --yes, -y                answer yes: start, run production steps, roll back on failure
  --dry-run                print every command with its variables resolved; run nothing
  --var NAME=VALUE         override a plan variable (repeatable)
  --tick ID                tick a manual checklist item as yourself: git user.name, else your login
                           (repeatable)
  --waive ID=REASON        waive a checklist item that fails, with a reason (repeatable)
  --retry                  with resume: run the interrupted step again (this confirms that step,
                           production or not; later production steps still need --yes or a terminal)
  --reason TEXT            why you roll back or abandon
  --late                   with rollback --yes: confirm a rollback after its window closed
                           (without a terminal, --yes alone does not start a late rollback)
  --force                  with rollback: roll back a run a newer run superseded (needs --reason)
  --format md|json         report format (default md)
  --verbose                show the output of every step
  --help, -h               this help

Without a terminal (CI, a pipe), nothing is asked; each question is answered like this:
  start, production steps  go only with --yes; otherwise the release pauses (or is aborted at the
                           go/no-go question) and says "pass --yes"
  interrupted step         --retry runs it again; otherwise as a failed step
  failed step              with --yes and production touched (migration onward): roll back;
                           otherwise pause (exit 1); resume runs a paused failed step again
  failed checklist item    --waive ID=REASON waives it; a manual item needs --tick ID; otherwise abort
  guard breach             roll back
Signals: SIGINT, SIGTERM and SIGHUP end the running step's process tree (SIGTERM, then SIGKILL
after 3 s; a second signal kills at once), journal it, pause the release (resumable; aborted
when no step had run yet) and exit 128 + the signal's number. A rollback under way finishes
first; a second signal ends it as failed. At a question, Ctrl-C stops the same way; Ctrl-D
(end of input) answers no / pause / abort.

Exit codes: validate 0 valid, 1 invalid, 2 usage; run/resume/rollback 0 released, 1 failed or
refused, 2 invalid plan or usage, 3 rolled back, 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM;
abandon 0 abandoned, 1 refused.
`;

interface Io {
  out(s: string): void;
  err(s: string): void;
  /** Raw text with no newline added: a step's output as it comes. */
  write?(s: string): void;
}
const stdio: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') };

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  // The changelog has its own options and needs no full release plan.
  if (isChangelogCommand(argv)) return changelogCommand(argv, io);
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    io.err(`release-pilot: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const { values: o, positionals } = args;
  const [command, runArg] = positionals;
  if (o.help || !command) {
    io.out(HELP);
    return command || o.help ? 0 : EXIT.usage;
  }
  if (command === 'schema') {
    io.out(JSON.stringify(planJsonSchema(), null, 2));
    return 0;
  }
  const planFile = path.resolve(o.plan ?? '.release/plan.yaml');
  const workspace = path.resolve(o.workspace ?? defaultWorkspace(planFile));
  const known = ['validate', 'run', 'resume', 'status', 'rollback', 'report', 'changelog', 'abandon'];
  if (!known.includes(command)) {
    io.err(`release-pilot: unknown command "${command}"\n\n${HELP}`);
    return EXIT.usage;
  }

  if (command === 'status' || command === 'report') {
    const runId = runArg ?? latestRunId(workspace);
    if (!runId) {
      io.err(`release-pilot: no release has run in ${workspace} yet`);
      return EXIT.failed;
    }
    const { state, torn, corrupt } = loadRun(workspace, runId);
    if (torn) io.err(`warning: the journal's last line is torn (a crash mid-write) and was ignored: ${torn}`);
    if (corrupt.length) io.err(`warning: journal lines ${corrupt.join(', ')} are damaged and were ignored`);
    if (command === 'status') io.out(renderStatus(state));
    else {
      const written = writeReport(path.join(workspace, '.release', 'runs', runId), state);
      io.out(o.format === 'json' ? JSON.stringify(buildReport(state), null, 2) : renderMarkdown(buildReport(state)));
      io.err(`written: ${written.md}\n         ${written.json}`);
    }
    return EXIT.released;
  }

  const loaded = loadPlanFile(planFile);
  if (!loaded.ok) {
    for (const p of loaded.problems) io.err(formatProblem({ ...p, file: path.relative(process.cwd(), p.file) || p.file }));
    io.err(`${loaded.problems.length} problem(s) in the release plan`);
    // validate: 1 means "the plan is invalid"; every other command refuses an invalid plan as a usage error.
    return command === 'validate' ? EXIT.failed : EXIT.usage;
  }
  const plan = loaded.plan;
  // Everything printed from here on passes the masker: step names, checks' details, error messages.
  const masker = new SecretMasker(secretValues(loaded.text, plan.secrets, process.env));
  io = maskedIo(io, masker);
  if (command === 'validate' || command === 'run')
    for (const w of loaded.warnings) io.err(formatProblem({ ...w, file: path.relative(process.cwd(), w.file) || w.file }));
  try {
    return await runCommand(command, runArg, o, plan, loaded.text, planFile, workspace, io);
  } catch (e) {
    io.err(`release-pilot: ${(e as Error).message}`);
    return EXIT.failed;
  }
}

function maskedIo(io: Io, masker: SecretMasker): Io {
  return { out: (s) => io.out(masker.mask(s)), err: (s) => io.err(masker.mask(s)), write: (s) => (io.write ?? ((t: string) => process.stdout.write(t)))(s) };
}

async function runCommand(
  command: string,
  runArg: string | undefined,
  o: ReturnType<typeof parse>['values'],
  plan: Plan,
  planText: string,
  planFile: string,
  workspace: string,
  io: Io,
): Promise<number> {
  const planRel = path.relative(workspace, planFile) || planFile;
  /** What `${release.previousVersion}` would be here; refused (with its line) when the plan uses it and nothing provides it. */
  const previous = async (version: string) => {
    if (!planUses(planText, 'release.previousVersion')) return { ok: true as const, value: undefined };
    const p = await previousVersionOf(workspace, plan, planRel, version);
    const refused = previousVersionRefusal(path.relative(process.cwd(), planFile) || planFile, planText, plan, p);
    return refused ? { ok: false as const, message: refused } : { ok: true as const, value: p?.version };
  };
  if (command === 'validate') {
    const v = plan.release.version === 'auto' ? await resolveVersion(workspace, plan) : { ok: true as const, version: plan.release.version.replace(/^v/, '') };
    const p = v.ok ? await previous(v.version) : undefined;
    if (p && !p.ok) {
      io.err(p.message);
      io.err('1 problem(s) in the release plan');
      return EXIT.failed;
    }
    io.out(
      `${path.relative(process.cwd(), planFile) || planFile}: valid (${plan.release.name} ${plan.release.version} → ${plan.release.environment}, ${plan.checklist.length} checklist item(s), ${plan.monitoring.metrics.length} metric(s))`,
    );
    return 0;
  }
  const vars = Object.fromEntries((o.var ?? []).map((kv) => splitKv(kv, '--var')));

  if (o['dry-run']) {
    if (command !== 'run') {
      io.err('release-pilot: --dry-run goes with run');
      return EXIT.usage;
    }
    const v = plan.release.version === 'auto' ? await resolveVersion(workspace, plan) : { ok: true as const, version: plan.release.version.replace(/^v/, '') };
    if (!v.ok) {
      io.err(`release-pilot: ${v.message}`);
      return EXIT.failed;
    }
    const p = await previous(v.version);
    if (!p.ok) {
      io.err(`release-pilot: ${p.message}`);
      return EXIT.failed;
    }
    io.out(dryRun(plan, vars, { version: v.version, previousVersion: p.value }));
    return 0;
  }

  if (command === 'abandon' && !o.reason?.trim()) {
    io.err('release-pilot: abandon needs --reason TEXT: why nobody finishes or rolls back this release');
    return EXIT.usage;
  }

  const ticks = new Set(o.tick ?? []);
  const waivers = new Map((o.waive ?? []).map((kv) => splitKv(kv, '--waive')));
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  if (command === 'rollback' && o.force && !o.reason?.trim()) {
    io.err('release-pilot: --force needs --reason TEXT: why roll back a run a newer run superseded');
    return EXIT.usage;
  }
  const prompter = cliPrompter(io, { yes: Boolean(o.yes), interactive, ticks, waivers, retry: Boolean(o.retry), workspace, late: Boolean(o.late) });
  const engine: EngineOptions = {
    planFile,
    plan,
    planText,
    workspace,
    prompter,
    vars,
    holder: 'release-pilot CLI',
    logger: { info: () => {}, warn: (m) => io.err(`warning: ${m}`), error: (m) => io.err(`error: ${m}`) },
    onEvent: progressPrinter(io, plan, Boolean(o.verbose)),
    // Chunks come masked from the runner's stream masker, which holds a secret cut between chunks.
    onOutput: o.verbose ? (_k, chunk) => io.write!(chunk.replace(/^/gm, '    │ ')) : undefined,
  };

  const signals = new SignalStop((text) => io.err(text));
  let release: Release;
  try {
    if (command === 'run') release = await Release.start(engine);
    else {
      const runId =
        runArg ??
        (command === 'abandon' ? findUnresolvedRun(workspace, path.relative(workspace, planFile) || planFile)?.runId : undefined) ??
        latestRunId(workspace);
      if (!runId) {
        io.err(`release-pilot: no release to ${command} in ${workspace}`);
        signals.dispose();
        return EXIT.failed;
      }
      release = await Release.reopen(engine, runId);
    }
  } catch (e) {
    signals.dispose();
    if (e instanceof LockHeldError || e instanceof GateError || e instanceof JournalWriteError || e instanceof UnresolvedRunError) {
      io.err(`release-pilot: ${e.message}`);
      return EXIT.failed;
    }
    throw e;
  }
  signals.attach(release);
  try {
    let state: ReleaseState;
    if (command === 'abandon') {
      try {
        state = release.abandon(o.reason!);
      } catch (e) {
        if (e instanceof GateError) {
          io.err(`release-pilot: ${e.message}`);
          return EXIT.failed;
        }
        throw e;
      }
      io.out(`abandoned ${state.name} ${state.version} (run ${state.runId}): ${state.outcomeMessage}`);
      return 0;
    }
    if (command === 'rollback') {
      try {
        state = await release.rollbackFinished(o.reason ?? 'rolled back by hand from the command line', { force: Boolean(o.force) });
      } catch (e) {
        if (e instanceof GateError) {
          io.err(`release-pilot: ${e.message}`);
          if (e.gate === 'rollback-superseded') io.err(`to roll it back anyway: release-pilot rollback ${release.runId} --force --reason TEXT`);
          return EXIT.failed;
        }
        throw e;
      }
    } else state = await release.run();
    io.out('');
    io.out(renderMarkdown(buildReport(state)));
    io.out(`journal: ${path.join(release.runDir, 'journal.jsonl')}\nreport:  ${path.join(release.runDir, 'report.md')}`);
    return signals.exitCode() ?? exitCode(state);
  } finally {
    signals.dispose();
  }
}

export function exitCode(s: ReleaseState): number {
  if (s.status === 'released') return EXIT.released;
  if (s.status === 'rolled-back') return EXIT.rolledBack;
  return EXIT.failed;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      plan: { type: 'string' },
      workspace: { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      'dry-run': { type: 'boolean' },
      var: { type: 'string', multiple: true },
      tick: { type: 'string', multiple: true },
      waive: { type: 'string', multiple: true },
      reason: { type: 'string' },
      format: { type: 'string' },
      verbose: { type: 'boolean' },
      write: { type: 'boolean' },
      retry: { type: 'boolean' },
      late: { type: 'boolean' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function splitKv(kv: string, flag: string): [string, string] {
  const i = kv.indexOf('=');
  if (i <= 0) throw new Error(`${flag} expects NAME=VALUE, got "${kv}"`);
  return [kv.slice(0, i), kv.slice(i + 1)];
}

export function defaultWorkspace(planFile: string): string {
  const dir = path.dirname(planFile);
  return path.basename(dir) === '.release' ? path.dirname(dir) : dir;
}

function cliPrompter(
  io: Io,
  opt: { yes: boolean; interactive: boolean; ticks: Set<string>; waivers: Map<string, string>; retry: boolean; workspace: string; late: boolean },
): Prompter {
  /** The answer, or undefined when the input ended (Ctrl-D, a closed terminal): nobody is there to answer. */
  const ask = async (q: string): Promise<string | undefined> => {
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
  };
  // The person who runs the CLI, as git knows them (the same name the engine journals), else the login.
  let user: string | undefined;
  const who = async () => (user ??= await currentUser(opt.workspace));
  // Steps the person asked to run again with --retry: that is their confirmation for each.
  const retried = new Set<string>();
  return {
    async confirm(message, about) {
      if (opt.yes) return true;
      if (about?.step && retried.delete(about.step)) {
        io.err(`confirmed by --retry: ${message.split('\n')[0]}`);
        return true;
      }
      if (!opt.interactive) {
        io.err(`not confirmed (no terminal to ask; pass --yes): ${message}`);
        return false;
      }
      return /^y(es)?$/i.test((await ask(`${message} [y/N] `)) ?? '');
    },
    async onFailure(f) {
      io.err(`\n✗ ${f.step.name} failed: ${f.message}`);
      if (opt.retry && f.step.state === 'interrupted') {
        retried.add(f.step.key);
        return { action: 'retry' };
      }
      if (!opt.interactive) return opt.yes && f.rollbackAvailable ? { action: 'rollback' } : { action: 'pause' };
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
    },
    // The failed item and its detail were just printed from the journal's event; saying it again here doubled every line.
    async onChecklistFailed(item) {
      const w = opt.waivers.get(item.id);
      if (w) return { action: 'waive', reason: w };
      if (!opt.interactive) return { action: 'abort' };
      const a = (await ask('[r]etry, [w]aive with a reason, or [a]bort? '))?.toLowerCase();
      if (a === 'r') return { action: 'retry' };
      if (a === 'w') return { action: 'waive', reason: (await ask('reason: ')) ?? '' };
      return { action: 'abort' };
    },
    async tickManual(item) {
      if (opt.ticks.has(item.id)) return who();
      if (!opt.interactive) return undefined;
      return /^y(es)?$/i.test((await ask(`manual check — ${item.title}: done? [y/N] `)) ?? '') ? who() : undefined;
    },
    async onBreach(b) {
      io.err(`! ${b.reason}`);
      if (!opt.interactive) return 'rollback';
      const a = (await ask('roll [b]ack, [c]ontinue watching, or [p]ause? '))?.toLowerCase();
      return a === 'c' ? 'continue' : a === 'p' ? 'pause' : 'rollback';
    },
    async notify(message) {
      io.out(`📣 ${message}`);
    },
    async confirmRollback(q) {
      // A late rollback is confirmed as late: --yes given for an ordinary rollback never starts one.
      if (q.lateByMs !== undefined) {
        if (opt.yes && opt.late) return true;
        if (!opt.interactive) {
          io.err(`not confirmed (no terminal to ask; a late rollback needs --yes --late): ${q.message}`);
          return false;
        }
        io.err(q.message);
        return /^late$/i.test((await ask('The rollback window has closed. Type "late" to roll back anyway: ')) ?? '');
      }
      return this.confirm(q.message);
    },
  };
}

function progressPrinter(io: Io, plan: Plan, verbose: boolean) {
  let tick: Record<string, string> = {};
  const fmt = formatNumber;
  let monitorStart = 0;
  return (e: ReleaseEvent, s: ReleaseState) => {
    switch (e.type) {
      case 'acceptance.checked':
        io.out(`${e.ok ? '✓' : '✗'} acceptance: ${e.ok ? `"${e.expected}"` : `expected "${e.expected}", got "${e.said}"`} (${e.source})`);
        break;
      case 'checklist.item.changed':
        if (e.state !== 'checking')
          io.out(
            `${e.state === 'passed' ? '✓' : e.state === 'waived' ? '~' : '✗'} checklist: ${e.title} — ${e.state === 'waived' ? `waived by ${e.by}: ${e.reason}` : (e.detail ?? '')}`,
          );
        break;
      case 'phase.started':
        io.out(`\n▶ ${PHASE_TITLES[e.phase]}`);
        if (e.phase === 'monitoring') monitorStart = Date.parse(e.at);
        break;
      case 'step.started':
        if (verbose || e.phase === 'rollback') io.out(`  … ${e.name}${verbose ? `\n    $ ${e.command}` : ''}`);
        break;
      case 'step.finished': {
        const st = s.steps[e.step];
        io.out(`  ${e.ok ? '✓' : '✗'} ${st?.name ?? e.step} (${(e.durationMs / 1000).toFixed(1)} s)${e.ok ? '' : ` — ${e.message}`}`);
        // Where it failed, the end of what it printed (a rollback step's above all); --verbose showed it already.
        if (!e.ok && !verbose && e.tail)
          io.out(`${e.tail.replace(/^/gm, '    │ ')}\n    (last lines; the whole output is in ${st?.log ? `the run's ${st.log}` : 'the step log'})`);
        break;
      }
      case 'baseline.captured':
        io.out(`    baseline ${e.metric}: ${fmt(e.mean)} ± ${fmt(e.stdev)} from ${e.samples.length} sample(s)`);
        break;
      case 'metric.sample': {
        tick[e.metric] = `${e.metric} ${fmt(e.value)}${e.status === 'ok' ? ' ✓' : e.status === 'breach' ? ' ✗' : ` ?(${e.status})`}`;
        if (Object.keys(tick).length === plan.monitoring.metrics.length) {
          const secs = Math.round((Date.parse(e.at) - monitorStart) / 1000);
          io.out(`    ${String(secs).padStart(4)}/${Math.round(plan.monitoring.window / 1000)} s  ${Object.values(tick).join('   ')}`);
          tick = {};
        }
        break;
      }
      case 'guard.breached':
        if (e.confirmed) io.out(`  ! guard breached: ${e.metric} ${e.rule} (value ${fmt(e.value)}, ${e.consecutive} in a row)`);
        break;
      case 'rollback.started':
        io.out(`\n⟲ Rollback (${e.trigger}): ${e.reason}\n  started ${e.latencyMs} ms after the trigger`);
        break;
      case 'rollback.finished':
        io.out(`${e.outcome === 'rolled-back' ? '✓' : '✗✗'} ${e.message}`);
        break;
      case 'release.paused':
        io.out(`\n⏸ paused: ${e.message}\n  continue with: release-pilot resume ${s.runId}   (or: release-pilot abandon ${s.runId} --reason TEXT)`);
        break;
      case 'release.finished':
        io.out(`\n■ ${e.outcome}: ${e.message}`);
        break;
      case 'warning':
        io.err(`warning: ${e.message}`);
        break;
    }
  };
}

export function renderStatus(s: ReleaseState): string {
  const L = [
    `${s.name} ${s.version} → ${s.environment}: ${s.status.toUpperCase()}${s.outcomeMessage ? ` (${s.outcomeMessage})` : ''}`,
    `run ${s.runId}, started ${s.startedAt} by ${s.user}`,
  ];
  if (s.pausedAt) L.push(`paused: ${s.pausedAt.message}`);
  for (const c of s.checklist) L.push(`  [${c.state}] ${c.title}${c.by ? ` (${c.by}${c.reason ? `: ${c.reason}` : ''})` : ''}`);
  for (const p of s.phases) {
    L.push(`  ${p.state.padEnd(11)} ${PHASE_TITLES[p.id]}`);
    for (const k of p.steps) {
      const st = s.steps[k];
      L.push(`      ${st.state.padEnd(11)} ${st.name}${st.message ? ` — ${st.message}` : ''}`);
    }
  }
  if (s.rollback)
    L.push(
      `  rollback (${s.rollback.trigger}): ${s.rollback.outcome ?? 'running'} — ${s.rollback.reason}; started ${s.rollback.latencyMs} ms after the trigger`,
    );
  return L.join('\n');
}

/** Every command of the plan in the order a release runs it, with variables resolved. */
export function dryRun(plan: Plan, vars: Record<string, string>, facts: { version?: string; previousVersion?: string } = {}): string {
  const scope = previewScope(plan, { vars, ...facts });
  const r = (t: string, extra: Record<string, string> = {}) => interpolate(t, { ...scope, builtins: { ...scope.builtins, ...extra } });
  const L: string[] = [
    `Dry run of ${plan.release.name} ${scope.builtins['release.version']} → ${plan.release.environment} (nothing runs; <…> marks what only a run knows)`,
    '',
  ];
  L.push(
    'Gates:',
    `  acceptance: "${plan.acceptance.expect}" from ${plan.acceptance.file ? `file ${r(plan.acceptance.file)}` : plan.acceptance.command ? `command ${r(plan.acceptance.command)}` : `url ${r(plan.acceptance.url!)}`}`,
  );
  for (const c of plan.checklist)
    L.push(
      `  checklist ${c.id}: ${c.git ? `git: branch ${c.git.branch}${c.git.clean ? ', clean' : ''}${c.git.tagAtHead ? ', HEAD tagged' : ''}` : c.files ? `files ${c.files.map((f) => r(f)).join(', ')}` : c.run ? `$ ${r(c.run)}` : 'manual tick'}`,
    );
  if (plan.phases.deploy.blueGreen) L.push(`  active colour: $ ${r(plan.phases.deploy.blueGreen.active)}`);
  let n = 1;
  for (const phase of PHASES) {
    const units = unitsFor(plan, phase);
    if (!units.length) continue;
    L.push('', `${PHASE_TITLES[phase]}:`);
    for (const u of units) {
      const extra = 'vars' in u ? (u.vars ?? {}) : {};
      const what =
        u.kind === 'run'
          ? `$ ${r(u.step.run, extra)}${u.step.timeout ? `   (timeout ${u.step.timeout / 1000} s)` : ''}${u.step.production ? '   [asks first]' : ''}`
          : u.kind === 'health'
            ? u.check.http
              ? `GET ${r(u.check.http.url, extra)} (up to ${u.check.retries + 1} tries)`
              : `$ ${r(u.check.run!, extra)}   (health, up to ${u.check.retries + 1} tries)`
            : u.kind === 'http'
              ? `${u.check.method} ${r(u.check.url)} → expect ${u.check.status}${u.check.maxLatency ? ` within ${u.check.maxLatency} ms` : ''}`
              : u.kind === 'log'
                ? `$ ${r(u.check.run)}   (scan for ${u.check.errorPatterns.join(', ')})`
                : u.kind === 'baseline'
                  ? `baseline: ${plan.monitoring.baseline.fixed ? 'fixed values' : `capture ${(plan.monitoring.baseline.capture ?? 0) / 1000} s`}`
                  : u.kind === 'monitor'
                    ? `watch ${plan.monitoring.metrics.map((m) => m.id).join(', ')} for ${plan.monitoring.window / 1000} s every ${plan.monitoring.interval / 1000} s; on breach: ${plan.monitoring.onBreach}`
                    : u.kind === 'webhook'
                      ? 'POST webhook (URL from the environment)'
                      : 'notify the team';
      L.push(`  ${String(n++).padStart(2)}. ${r(u.name, extra)}: ${what}`);
    }
  }
  L.push('', `Rollback (within ${plan.rollback.deadline / 1000} s):`);
  plan.rollback.steps.forEach((s, i) => L.push(`  R${i + 1}. ${r(s.name ?? s.run)}: $ ${r(s.run)}`));
  return L.join('\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`release-pilot: ${e.message}\n`);
      process.exit(EXIT.failed);
    },
  );
}
