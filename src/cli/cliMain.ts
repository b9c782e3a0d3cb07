import * as path from 'node:path';
import { formatProblem, loadPlanFile, runtimeVarRefusals } from '../core/plan/load';
import { closest } from '../core/plan/planPaths';
import { planJsonSchema } from '../core/plan/json-schema';
import { secretValues } from '../core/engine/gates/secrets';
import { SecretMasker } from '../core/exec/mask';
import { GateError } from '../core/engine/gates/gateError';
import type { Plan } from '../core/model/schema';
import { environmentNames, planForEnvironment } from '../core/plan/environments';
import { latestRunId, loadRun, runIdProblem } from '../core/engine/queries/runs';
import { approveCommand } from './approve-command';
import { changelogCommand, isChangelogCommand } from './changelog-command';
import { initCommand } from './init-command';
import { isLoadCommand, loadCommand } from './load-command';
import { COMMAND_NAMES, defaultWorkspace, EXIT, HELP, parse, splitKv, TAKES_RUNS, type CliArgs, type CliOptions } from './args';
import { completionCommand } from './completion';
import { VERSION } from './version';
import { exitAfterOutput, maskedIo, stdio, type Io } from './io';
import { REASON_RULE, writtenReason } from '../core/engine/gates/writtenReason';
import { durationMs } from '../core/model/schema-values';
import type { ReleaseStore } from '../core/store/storeTypes';
import { storeStatusCommand } from './storeStatus';
import { syncFirst } from './storeCommands';
import {
  compareCommand,
  dryRunCommand,
  historyCommand,
  readRunCommand,
  releaseCommand,
  rollbackPreviewCommand,
  validateCommand,
  type PlanContext,
} from './subcommands';

export { EXIT, defaultWorkspace } from './args';
export { exitCode } from './io';
export { renderStatus } from './render';
export { dryRun } from '../core/engine/queries/releasePreview';

/** The commands that read a plan or runs (init, schema and completion are answered before). */
const KNOWN: readonly string[] = COMMAND_NAMES.filter((c) => c !== 'init' && c !== 'schema' && c !== 'completion' && c !== 'load');

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  // The changelog has its own options and needs no full release plan.
  if (isChangelogCommand(argv)) return changelogCommand(argv, io);
  // Completion has its own words (the shell, or what to list for the script) and reads no plan unless asked.
  if (argv[0] === 'completion') return completionCommand(argv.slice(1), io);
  // Load has its own options and reads no plan: traffic to a URL.
  if (isLoadCommand(argv)) return loadCommand(argv.slice(1), io);
  let args: CliArgs;
  try {
    args = parse(argv);
  } catch (e) {
    io.err(`release-pilot: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const { values: o, positionals } = args;
  const [command, runArg, ...rest] = positionals;
  if (o.version) {
    io.out(VERSION);
    return 0;
  }
  if (o.help || !command) {
    io.out(HELP);
    return command || o.help ? 0 : EXIT.usage;
  }
  if (command === 'init') return initCommand(o, io);
  if (command === 'schema') {
    io.out(JSON.stringify(planJsonSchema(), null, 2));
    return 0;
  }
  const planFile = path.resolve(o.plan ?? '.release/plan.yaml');
  const workspace = path.resolve(o.workspace ?? defaultWorkspace(planFile));
  if (!KNOWN.includes(command)) {
    io.err(`release-pilot: unknown command "${command}"\n\n${HELP}`);
    return EXIT.usage;
  }
  const notRun = TAKES_RUNS.includes(command) ? [runArg, ...rest].flatMap((a) => (a === undefined ? [] : (runIdProblem(a) ?? []))) : [];
  if (notRun.length) {
    io.err(`release-pilot: ${notRun[0]}`);
    return EXIT.usage;
  }
  if (o.redeploy !== undefined && command !== 'run') {
    io.err('release-pilot: --redeploy goes with run (and run --redeploy VERSION --dry-run previews it)');
    return EXIT.usage;
  }
  const storeFlags = storeFlagProblem(command, o);
  if (storeFlags) {
    io.err(`release-pilot: ${storeFlags}`);
    return EXIT.usage;
  }
  if (READERS.includes(command)) return readerCommand(command, runArg, rest, o, planFile, workspace, io);
  return planCommand(command, runArg, o, planFile, workspace, io);
}

/** A file under the current folder is shown relative to it; one elsewhere by its absolute path (not ../../x). */
function shown<T extends { file: string }>(p: T): T {
  const rel = path.relative(process.cwd(), p.file);
  return { ...p, file: rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(p.file) };
}

/** The commands that only read runs: with a store, its runs are synced into the workspace first. */
const READERS = ['history', 'compare', 'status', 'report'];

/** `--follow`, `--wait` and `--offline` go with their commands; a duration is one. */
function storeFlagProblem(command: string, o: CliOptions): string | undefined {
  if (o.follow && command !== 'status') return '--follow goes with status (release-pilot status --follow [RUN])';
  for (const flag of ['wait', 'offline'] as const)
    if (o[flag] !== undefined && command !== 'run' && command !== 'resume') return `--${flag} goes with run or resume`;
  if (o.wait !== undefined) {
    try {
      if (durationMs(o.wait) <= 0) throw new Error('zero');
    } catch {
      return `--wait expects a duration above 0 such as 90s or 10m, got "${o.wait}"`;
    }
  }
  if (o.offline !== undefined && !writtenReason(o.offline)) return `--offline needs a written reason: ${REASON_RULE}`;
  return undefined;
}

async function readerCommand(
  command: string,
  runArg: string | undefined,
  rest: string[],
  o: CliOptions,
  planFile: string,
  workspace: string,
  io: Io,
): Promise<number> {
  const store = await syncFirst(planFile, workspace, io);
  try {
    return await readRuns(command, runArg, rest, o, planFile, workspace, io, store);
  } finally {
    await store?.close();
  }
}

async function readRuns(
  command: string,
  runArg: string | undefined,
  rest: string[],
  o: CliOptions,
  planFile: string,
  workspace: string,
  io: Io,
  store: ReleaseStore | undefined,
): Promise<number> {
  if (command === 'history') return historyCommand(o, workspace, io);
  if (command === 'compare') {
    if (!runArg || rest.length !== 1) {
      io.err(`release-pilot: compare takes two runs (release-pilot compare RUN_A RUN_B; release-pilot history lists them)`);
      return EXIT.usage;
    }
    const loaded = loadPlanFile(planFile);
    return compareCommand(runArg, rest[0], loaded.ok ? loaded.plan : undefined, o, workspace, io);
  }
  if (command === 'status' && store) return storeStatusCommand(store, runArg, o, planFile, workspace, io);
  if (o.follow) {
    io.err('release-pilot: --follow needs a plan with a store: (the runs of this workspace are all here)');
    return EXIT.usage;
  }
  return readRunCommand(command as 'status' | 'report', runArg, o, workspace, io);
}

/** A command that needs the plan: it is loaded and checked first, and from then on every output is masked. */
async function planCommand(command: string, runArg: string | undefined, o: CliOptions, planFile: string, workspace: string, io: Io): Promise<number> {
  const loaded = loadPlanFile(planFile);
  if (!loaded.ok) {
    for (const p of loaded.problems) io.err(formatProblem(shown(p)));
    io.err(`${loaded.problems.length} problem(s) in the release plan`);
    // validate: 1 means "the plan is invalid"; every other command refuses an invalid plan as a usage error.
    return command === 'validate' ? EXIT.failed : EXIT.usage;
  }
  // A run made elsewhere is rolled back, resumed or abandoned from the store's copy: synced before it is read.
  const store = command === 'validate' || command === 'approve' || o['dry-run'] ? undefined : await syncFirst(planFile, workspace, io, loaded.plan);
  try {
    const chosen = environmentFor(command, runArg, o, loaded.plan, workspace);
    if (!chosen.ok) {
      io.err(`release-pilot: ${chosen.message}`);
      return EXIT.usage;
    }
    return await checkedCommand(command, runArg, o, { plan: chosen.plan, planText: loaded.text, planFile, workspace, store }, loaded, io);
  } finally {
    await store?.close();
  }
}

/** The plan's command, its environment chosen: from here on every output is masked. */
async function checkedCommand(
  command: string,
  runArg: string | undefined,
  o: CliOptions,
  p: PlanContext,
  loaded: Extract<ReturnType<typeof loadPlanFile>, { ok: true }>,
  io: Io,
): Promise<number> {
  const { plan, planFile, workspace } = p;
  // Everything printed from here on passes the masker: step names, checks' details, error messages.
  const masker = new SecretMasker(secretValues(loaded.text, plan, process.env));
  const unmasked = io;
  io = maskedIo(io, masker);
  if (command === 'validate' || command === 'run') for (const w of loaded.warnings) io.err(formatProblem(shown(w)));
  try {
    if (command === 'approve') {
      const flags = varFlags(o, plan, loaded.text, planFile);
      if ('error' in flags) {
        io.err(`release-pilot: ${flags.error}`);
        return EXIT.usage;
      }
      return await approveCommand(runArg, o, { plan, planText: loaded.text, planFile, workspace, vars: flags.vars }, io);
    }
    return await runCommand(command, runArg, o, p, io);
  } catch (e) {
    // The refusal of a secret too short to mask names variables only: masking the short value inside
    // its words (`vari***le`) would spell it out.
    const said = e instanceof GateError && e.gate === 'secrets' ? unmasked : io;
    said.err(`release-pilot: ${(e as Error).message}`);
    return EXIT.failed;
  }
}

/**
 * The plan as the named environment runs it. Without --env, validate checks the plan as written, and a command
 * that reopens a run takes the environment the run started for (its rules refuse any other).
 */
function environmentFor(command: string, runArg: string | undefined, o: CliOptions, plan: Plan, workspace: string) {
  if (environmentNames(plan).length && REOPENS.includes(command)) {
    const runId = runArg ?? latestRunId(workspace);
    const recorded = runId ? recordedEnvironment(workspace, runId) : undefined;
    // A run is rolled back, resumed or abandoned with the values of the environment it went to, never another's.
    if (recorded && o.env !== undefined && o.env.normalize('NFKC').trim().toLowerCase() !== recorded.normalize('NFKC').trim().toLowerCase())
      return { ok: false as const, message: `run ${runId} went to ${recorded}, not ${o.env}: ${command} it with --env ${recorded}, or without --env` };
    if (recorded) return planForEnvironment(plan, recorded);
  }
  if (o.env === undefined && environmentNames(plan).length && command === 'validate') return { ok: true as const, plan };
  return planForEnvironment(plan, o.env);
}
const REOPENS = ['resume', 'rollback', 'abandon'];

/** The environment a run went to; none when the run cannot be read (the command then says why). */
function recordedEnvironment(workspace: string, runId: string): string | undefined {
  try {
    return loadRun(workspace, runId).state.environment;
  } catch {
    return undefined;
  }
}

/** Why `--var` names a variable the plan does not declare (a typo would otherwise be ignored), or undefined. */
function undeclaredVars(given: string[], declared: string[]): string | undefined {
  const unknown = given.filter((n) => !declared.includes(n));
  if (unknown.length === 0) return undefined;
  const each = unknown.map((n) => {
    const s = closest(n, declared);
    return `${n}${s ? ` (did you mean ${s}?)` : ''}`;
  });
  const list = declared.length ? `the plan declares ${declared.join(', ')}` : 'the plan declares no variables';
  return `--var names ${unknown.length === 1 ? 'a variable' : 'variables'} the plan does not declare under variables: ${each.join(', ')}; ${list}`;
}

/**
 * The `--var NAME=VALUE` flags, each naming a variable the plan declares once, and each read by the
 * plan's commands as data (runtimeVarRefusals): read one way for run, dry run and approve.
 */
function varFlags(o: CliOptions, plan: Plan, planText: string, planFile: string): { vars: Record<string, string> } | { error: string } {
  const given = (o.var ?? []).map((kv) => ({ flag: kv, kv: splitKv(kv, '--var') }));
  for (const [i, a] of given.entries()) {
    const b = given.slice(i + 1).find((x) => x.kv[0] === a.kv[0]);
    if (b) return { error: `--var ${a.kv[0]} is given twice (--var ${shortFlag(a.flag)} and --var ${shortFlag(b.flag)}): give each variable once` };
  }
  const vars = Object.fromEntries(given.map((g) => g.kv));
  const undeclared = undeclaredVars(Object.keys(vars), Object.keys(plan.variables));
  if (undeclared) return { error: undeclared };
  const refused = runtimeVarRefusals(planText, path.relative(process.cwd(), planFile) || planFile, Object.keys(vars));
  if (refused.length) return { error: `the plan cannot take these --var values as data:\n${refused.map(formatProblem).join('\n')}` };
  return { vars };
}

const shortFlag = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}…` : s);

async function runCommand(command: string, runArg: string | undefined, o: CliOptions, p: PlanContext, io: Io): Promise<number> {
  if (command === 'validate') return validateCommand(p, io);
  const flags = varFlags(o, p.plan, p.planText, p.planFile);
  if ('error' in flags) {
    io.err(`release-pilot: ${flags.error}`);
    return EXIT.usage;
  }
  const { vars } = flags;
  if (o['dry-run']) {
    if (command === 'rollback') return rollbackPreviewCommand(runArg, o, p, io);
    if (command !== 'run') {
      io.err('release-pilot: --dry-run goes with run (a release, or --redeploy VERSION) and rollback');
      return EXIT.usage;
    }
    return dryRunCommand(p, vars, io, o.redeploy);
  }
  if (command === 'abandon' && !writtenReason(o.reason)) {
    io.err(`release-pilot: abandon needs --reason TEXT: why nobody finishes or rolls back this release (${REASON_RULE})`);
    return EXIT.usage;
  }
  const waivers = new Map((o.waive ?? []).map((kv) => splitKv(kv, '--waive')));
  for (const [id, reason] of waivers)
    if (!writtenReason(reason)) {
      io.err(`release-pilot: --waive ${id}=REASON needs a written reason: ${REASON_RULE}`);
      // A refusal, as the gate it would waive refuses it: nothing ran.
      return EXIT.failed;
    }
  if ((o.restore || o['no-restore']) && (command !== 'rollback' || (o.restore && o['no-restore']))) {
    io.err('release-pilot: --restore or --no-restore (one of them) answers a rollback that waits before its restore: release-pilot rollback [RUN] --restore');
    return EXIT.usage;
  }
  if (command === 'rollback' && o.force && !writtenReason(o.reason)) {
    io.err(`release-pilot: --force needs --reason TEXT: why roll back a run a newer run superseded (${REASON_RULE})`);
    return EXIT.usage;
  }
  return releaseCommand(command, runArg, o, { vars, waivers }, p, io);
}

if (require.main === module) {
  void main(process.argv.slice(2)).then(
    (code) => exitAfterOutput(code),
    (e: Error) => {
      process.stderr.write(`release-pilot: ${e.message}\n`);
      return exitAfterOutput(EXIT.failed);
    },
  );
}
