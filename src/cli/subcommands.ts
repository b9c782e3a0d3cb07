import * as path from 'node:path';
import type { Plan } from '../core/model/schema';
import { latestRunId, loadRun, Release, runDir, type EngineOptions } from '../core/engine/run/engine';
import { GateError } from '../core/engine/gates/gateError';
import { findUnresolvedRun } from '../core/engine/gates/unresolvedRun';
import type { ReleaseState } from '../core/model/releaseState';
import { ErrorCodes, errorCode } from '../core/base/errors';
import { buildReport, renderMarkdown, writeReport } from '../core/report/report';
import { previewFacts, redeployFacts, startFacts, type StartFacts } from '../core/engine/queries/releaseFacts';
import { previewRollback } from '../core/engine/queries/rollbackPreview';
import { EXIT, type CliOptions } from './args';
import { exitCode, type Io } from './io';
import { CliPrompter } from './cliPrompter';
import { progressPrinter } from './progress';
import { renderStatus } from './render';
import { dryRun, previewGates, renderGates } from '../core/engine/queries/releasePreview';
import { releaseHistory, renderHistory } from '../core/engine/queries/releaseHistory';
import { formatDuration } from '../core/format';
import { compareRuns, type Comparison } from '../core/engine/queries/compareRuns';
import { renderComparison } from '../core/engine/queries/comparisonText';
import { SignalStop } from './signals';
import { lintMigrations } from '../core/plan/migrationLint';
import type { ReleaseStore } from '../core/store/storeTypes';
import { askedRollback, storeOptions } from './storeCommands';
import { currentUser } from '../core/engine/run/engine';
import { rollbackRoute } from '../core/engine/queries/sharedRuns';

/** A plan loaded for a command, and where it runs. */
export interface PlanContext {
  plan: Plan;
  planText: string;
  planFile: string;
  workspace: string;
  /** The plan's shared store, opened and synced into the workspace (undefined without `store:`). */
  store?: ReleaseStore;
}

/** `status` and `report`: read a run's journal, run nothing. */
export function readRunCommand(command: 'status' | 'report', runArg: string | undefined, o: CliOptions, workspace: string, io: Io): number {
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
    const written = writeReport(runDir(workspace, runId), state);
    io.out(o.format === 'json' ? JSON.stringify(buildReport(state), null, 2) : renderMarkdown(buildReport(state)));
    io.err(`written: ${written.md}\n         ${written.json}`);
  }
  return EXIT.released;
}

/** What a run of this plan needs of the workspace now; the plan file named as the user gave it. */
const factsOf = (p: PlanContext) =>
  startFacts(p.workspace, p.plan, path.relative(p.workspace, p.planFile) || p.planFile, p.planText, path.relative(process.cwd(), p.planFile) || p.planFile);

/** A file under the current folder relative to it; one elsewhere by its absolute path. */
const shownPath = (file: string) => {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(file);
};

/** An unmet start precondition: the plan is right, the workspace is not ready for `run` yet. */
const warnUnmet = (facts: StartFacts, io: Io) => {
  for (const m of facts.unmet) io.err(`warning: ${m} (a start precondition: \`run\` refuses until it holds; the plan itself is valid)`);
};

export async function validateCommand(p: PlanContext, io: Io): Promise<number> {
  const { plan } = p;
  warnUnmet(await factsOf(p), io);
  const findings = await lintMigrations(p.workspace, plan.rollback.database, p.planFile);
  for (const f of findings) io.err(`${shownPath(f.file)}:${f.line}:${f.column}: ${f.severity ?? 'error'}: ${f.message}`);
  const errors = findings.filter((f) => f.severity === undefined).length;
  if (errors) {
    io.err(`${errors} migration statement(s) the previous version cannot run on, with rollback.database.strategy code-only`);
    return EXIT.failed;
  }
  io.out(
    `${path.relative(process.cwd(), p.planFile) || p.planFile}: valid (${plan.release.name} ${plan.release.version} → ${plan.release.environment}, ${plan.checklist.length} checklist item(s), ${plan.monitoring.metrics.length} metric(s))`,
  );
  return 0;
}

/** `run --dry-run` (with `--redeploy V`: the redeploy of V): every command resolved, then the gates now; nothing runs. */
export async function dryRunCommand(p: PlanContext, vars: Record<string, string>, io: Io, redeploy?: string): Promise<number> {
  let version: string;
  let previousVersion: string;
  let heading = '';
  if (redeploy !== undefined) {
    const r = await redeployFacts(p.workspace, p.plan, path.relative(p.workspace, p.planFile) || p.planFile, redeploy);
    if (!r.ok) {
      io.err(`release-pilot: ${r.message}`);
      return EXIT.failed;
    }
    ({ version, previousVersion } = previewFacts({ ...r, unmet: [] }));
    heading = `\nThis is a redeploy of ${version}, released in run ${r.of.runId}${r.of.tagCommit ? ` (tag commit ${r.of.tagCommit.slice(0, 12)})` : ''}; it replaces ${previousVersion}.`;
  } else {
    const facts = await factsOf(p);
    warnUnmet(facts, io);
    ({ version, previousVersion } = previewFacts(facts));
  }
  const text = dryRun(p.plan, vars, { version, previousVersion });
  const [first, ...rest] = text.split('\n');
  io.out([first + heading, ...rest].join('\n'));
  io.out(
    `\n${renderGates(
      await previewGates(p.plan, p.workspace, {
        version,
        previousVersion,
        vars,
        planText: p.planText,
        planRel: path.relative(p.workspace, p.planFile) || p.planFile,
      }),
    )}`,
  );
  return 0;
}

/** `rollback [RUN] --dry-run`: the rollback's target and every command resolved; no lock, no journal line, no step. */
export function rollbackPreviewCommand(runArg: string | undefined, o: CliOptions, p: PlanContext, io: Io): number {
  const runId = runArg ?? latestRunId(p.workspace);
  if (!runId) {
    io.err(`release-pilot: no release to roll back in ${p.workspace}`);
    return EXIT.failed;
  }
  const r = previewRollback(p.workspace, p.plan, runId, { env: process.env, force: Boolean(o.force) });
  if (!r.ok) {
    io.err(`release-pilot: ${r.message}`);
    if (r.supersededBy) io.err(`to roll it back anyway: release-pilot rollback ${runId} --force --reason TEXT`);
    return EXIT.failed;
  }
  io.out(r.text);
  return 0;
}

/** `history`: every release of the workspace, newest first, as a table (refused attempts counted) or JSON. */
export function historyCommand(o: CliOptions, workspace: string, io: Io): number {
  const limit = o.limit === undefined ? undefined : Number(o.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    io.err(`release-pilot: --limit expects a whole number above 0, got "${o.limit}"`);
    return EXIT.usage;
  }
  // JSON and --all keep refused attempts (marked `refused`); the table folds them into a count.
  if (o.json) io.out(JSON.stringify(releaseHistory(workspace, { limit }), null, 2));
  else io.out(renderHistory(releaseHistory(workspace, o.all ? { limit } : {}), formatDuration, { all: Boolean(o.all), limit }));
  return 0;
}

/** `compare A B`: two runs of one plan side by side, and the changelog between them; reads journals and git, runs nothing. */
export async function compareCommand(a: string, b: string, plan: Plan | undefined, o: CliOptions, workspace: string, io: Io): Promise<number> {
  let c: Comparison;
  try {
    c = await compareRuns(workspace, a, b, { plan });
  } catch (e) {
    io.err(`release-pilot: ${(e as Error).message}`);
    return EXIT.failed;
  }
  io.out(o.json ? JSON.stringify(c, null, 2) : renderComparison(c));
  return 0;
}

/** The engine's options for a command that runs or reopens a release. */
function engineOptions({ store, ...p }: PlanContext, o: CliOptions, flags: ReleaseFlags, io: Io): EngineOptions {
  const prompter = new CliPrompter(io, {
    yes: Boolean(o.yes),
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    ticks: new Set(o.tick ?? []),
    waivers: flags.waivers,
    retry: Boolean(o.retry),
    workspace: p.workspace,
    late: Boolean(o.late),
  });
  return {
    ...p,
    prompter,
    vars: flags.vars,
    given: { ticks: o.tick ?? [], waivers: Object.fromEntries(flags.waivers) },
    holder: 'release-pilot CLI',
    ...(store ? { store: storeOptions(store, p.plan, o) } : {}),
    ...(o.redeploy !== undefined ? { redeploy: o.redeploy } : {}),
    ...(o['override-freeze'] !== undefined ? { overrideFreeze: o['override-freeze'] } : {}),
    logger: { info: () => {}, warn: (m) => io.err(`warning: ${m}`), error: (m) => io.err(`error: ${m}`) },
    onEvent: progressPrinter(io, p.plan, Boolean(o.verbose)),
    // Chunks come masked from the runner's stream masker, which holds a secret cut between chunks.
    onOutput: o.verbose ? verboseOutput(io) : undefined,
  };
}

/** A step's output, each line indented under it: a chunk that continues a line (a stream cuts anywhere) gets no indent of its own. */
function verboseOutput(io: Io): (key: string, chunk: string) => void {
  const midLine = new Set<string>();
  return (key, chunk) => {
    if (chunk === '') return;
    io.write!((midLine.has(key) ? '' : '    │ ') + chunk.replace(/\n(?=[^])/g, '\n    │ '));
    if (chunk.endsWith('\n')) midLine.delete(key);
    else midLine.add(key);
  };
}

/** `--var NAME=VALUE` and `--waive ID=REASON`, parsed (a malformed one throws, naming the flag). */
export interface ReleaseFlags {
  vars: Record<string, string>;
  waivers: Map<string, string>;
}

/** The refusals a front end shows as a message: the release did not start or reopen. */
const REFUSALS: readonly string[] = [ErrorCodes.LockHeld, ErrorCodes.Gate, ErrorCodes.JournalWrite, ErrorCodes.UnresolvedRun];

/** `run`, `resume`, `rollback`, `abandon`: a release started or reopened under the plan's lock. */
export async function releaseCommand(command: string, runArg: string | undefined, o: CliOptions, flags: ReleaseFlags, p: PlanContext, io: Io): Promise<number> {
  const engine = engineOptions(p, o, flags, io);
  if (command === 'rollback' && p.store && engine.store) {
    const runId = runArg ?? latestRunId(p.workspace);
    const route = runId ? await rollbackRoute(p.store, p.workspace, runId) : { kind: 'here' as const };
    if (route.kind === 'ask')
      return askedRollback(
        p.store,
        route.holder,
        p.plan,
        engine.user ?? (await currentUser(p.workspace)),
        o.reason ?? 'rolled back by hand from another machine',
        io,
      );
    // Its holder is gone: this machine takes the lock over and rolls back from the synced journal.
    if (route.kind === 'take-over') engine.store.takeOverStale = true;
  }
  const signals = new SignalStop((text) => io.err(text));
  let release: Release | undefined;
  try {
    release = await openRelease(command, runArg, engine, p, io);
  } catch (e) {
    signals.dispose();
    // A secret too short to mask: main prints that refusal unmasked (it names variables only).
    if (!REFUSALS.includes(errorCode(e) ?? '') || (e instanceof GateError && e.gate === 'secrets')) throw e;
    io.err(`release-pilot: ${(e as Error).message}`);
    // A resume given other inputs than its run started with is a usage error: the same command without them goes on.
    return e instanceof GateError && e.gate === 'inputs' ? EXIT.usage : EXIT.failed;
  }
  if (!release) {
    signals.dispose();
    return EXIT.failed;
  }
  signals.attach(release);
  try {
    return await driveRelease(command, release, o, io, signals);
  } finally {
    signals.dispose();
    await release.settled();
  }
}

async function openRelease(command: string, runArg: string | undefined, engine: EngineOptions, p: PlanContext, io: Io): Promise<Release | undefined> {
  if (command === 'run') return Release.start(engine);
  const runId =
    runArg ??
    (command === 'abandon' ? findUnresolvedRun(p.workspace, path.relative(p.workspace, p.planFile) || p.planFile)?.runId : undefined) ??
    latestRunId(p.workspace);
  if (!runId) {
    io.err(`release-pilot: no release to ${command} in ${p.workspace}`);
    return undefined;
  }
  return Release.reopen(engine, runId);
}

async function driveRelease(command: string, release: Release, o: CliOptions, io: Io, signals: SignalStop): Promise<number> {
  let state: ReleaseState;
  try {
    if (command === 'abandon') {
      state = release.abandon(o.reason!);
      io.out(`abandoned ${state.name} ${state.version} (run ${state.runId}): ${state.outcomeMessage}`);
      return 0;
    }
    if (command === 'rollback')
      state = await release.rollbackFinished(o.reason ?? 'rolled back by hand from the command line', {
        force: Boolean(o.force),
        restore: o['no-restore'] ? false : o.restore ? true : undefined,
      });
    else state = await release.run();
  } catch (e) {
    if (command === 'run' || command === 'resume' || !(e instanceof GateError)) throw e;
    io.err(`release-pilot: ${e.message}`);
    if (e.gate === 'rollback-superseded') io.err(`to roll it back anyway: release-pilot rollback ${release.runId} --force --reason TEXT`);
    return EXIT.failed;
  }
  io.out('');
  io.out(renderMarkdown(buildReport(state)));
  io.out(`journal: ${path.join(release.runDir, 'journal.jsonl')}\nreport:  ${path.join(release.runDir, 'report.md')}`);
  return signals.exitCode() ?? exitCode(state);
}
