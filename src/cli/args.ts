import * as path from 'node:path';
import { parseArgs } from 'node:util';

export const EXIT = { released: 0, failed: 1, usage: 2, rolledBack: 3 } as const;

export const HELP = `release-pilot — gated, traceable, reversible releases

Usage: release-pilot <command> [options]

Commands:
  validate                 check the release plan; prints each problem as file:line:column
  run                      run a release of the plan (asks before it starts and before production steps);
                           refuses while a paused or interrupted run of the plan exists, and names it
  resume [RUN]             continue a paused or interrupted release
  abandon [RUN] --reason TEXT
                           end a paused or interrupted release without rolling back: ends the
                           processes its interrupted step left running and journals who and why (a
                           rollback waiting before its restore: rollback --restore or --no-restore)
  status [RUN]             show the state of the newest (or the named) release; with a store, who holds
                           it and where; --follow prints its events as they reach the store, until it ends
  rollback [RUN]           roll back the newest (or the named) release; asks first (no terminal: --yes);
                           --dry-run shows what it goes back to and every rollback command, runs nothing
  report [RUN]             print the report of a release and write report.md / report.json
  history                  list the releases of the workspace, newest first, and count the refused
                           attempts (nothing ran); --all lists them too (--json keeps them, marked)
  compare RUN_A RUN_B      two runs of the plan side by side: outcome, each monitoring window (baseline,
                           samples, guards, verdicts) and the changelog between their commits (--json)
  approve VERSION --env ENV [--var NAME=VALUE]... [--comment TEXT]
                           approve VERSION for ENV as yourself (git user.name/user.email): an annotated
                           tag on HEAD for this plan and these --var values, signed when ENV asks (git
                           push it to share it); a release given other --var values does not count it
  changelog                print the changelog of a range and the proposed bump (changelog --help)
  completion bash|zsh      print a shell completion script (commands, options, run ids, environments);
                           bash: source <(release-pilot completion bash)
  schema                   print the plan's JSON Schema
  load URL --rate N [--duration D] [--write 'POST /path BODY'] [--check-writes URL]
                           steady traffic to your service, every answer counted: failures, latency,
                           acknowledged and lost writes (load --help); rehearse a release under it
  init [--template NAME] [--force]
                           write .release/plan.yaml from a template (without --template: list them);
                           never over an existing plan without --force; keeps .release/runs out of git

Options:
  --plan PATH              the plan (default .release/plan.yaml)
  --env NAME               the environment of a plan with environments: (required by run, approve and a
                           dry run; resume, rollback and abandon default to the run's own)
  --override-freeze TEXT   with run or resume: release during a freeze window of the environment; the
                           reason is journaled and in the report (a resume keeps the run's own override)
  --comment TEXT           with approve: a comment kept in the approval
  --workspace DIR          where steps run (default: the folder that holds .release/)
  --yes, -y                answer yes: start, run production steps, roll back on failure
  --dry-run                with run or rollback: print every command with its variables resolved; run
                           nothing, journal nothing, take no lock
  --redeploy VERSION       with run: release again a version this plan released before (the plan
                           must say release.redeploy: true); every gate applies; with --dry-run, a preview
  --var NAME=VALUE         override a plan variable (repeatable); with approve, the values approved
  --tick ID                tick a manual checklist item as yourself: git user.name, else your login
                           (repeatable)
  --waive ID=REASON        waive a checklist item that fails, with a reason (repeatable); dirty-tree=REASON
                           releases from changed tracked files where the environment has gates
  --retry                  with resume: run the interrupted step again (this confirms that step,
                           production or not; later production steps still need --yes or a terminal)
  --reason TEXT            why you roll back or abandon
  --follow                 with status: follow the run's events in the plan's store until it ends
  --wait DURATION          with run or resume: wait this long (10m, 90s) for another machine's release of
                           the environment to end, then run (default: refuse at once, naming it)
  --offline TEXT           with run or resume: release although the plan's store cannot be reached (its
                           lock is not taken): the reason is journaled as a warning
  --late                   with rollback --yes: confirm a rollback after its window closed
                           (without a terminal, --yes alone does not start a late rollback)
  --restore                with rollback: confirm the restore a rollback waits for (it shows the
                           writes since the backup it discards; no terminal: with --yes)
  --no-restore             with rollback: decline it; the run ends rolled back (code only)
  --force                  with rollback: roll back a run a newer run superseded (needs --reason);
                           with init: replace the existing plan
  --template NAME          with init: the template to start from
  --format md|json         report format (default md)
  --json                   with history or compare: print JSON
  --limit N                with history: the newest N releases only
  --all                    with history: list refused attempts too
  --verbose                show the output of every step
  --version, -V            print the version of release-pilot
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

export type CliArgs = ReturnType<typeof parse>;
export type CliOptions = CliArgs['values'];

/** Options that say one thing: given twice, the last would win in silence (`--env staging --env production`). */
const ONCE = ['env', 'plan', 'workspace', 'override-freeze', 'comment', 'redeploy', 'reason', 'wait', 'offline'];

export function parse(argv: string[]) {
  const parsed = parseOnce(argv);
  const counts = new Map<string, string[]>();
  for (const t of parsed.tokens ?? []) if (t.kind === 'option' && ONCE.includes(t.name)) counts.set(t.name, [...(counts.get(t.name) ?? []), t.value ?? '']);
  for (const [name, values] of counts)
    if (values.length > 1) throw new Error(`--${name} is given ${values.length} times (${values.map((v) => JSON.stringify(v)).join(', ')}): give it once`);
  return { values: parsed.values, positionals: parsed.positionals };
}

/** Every option of the commands (changelog has its own): what the parser accepts and what completion offers. */
export const OPTIONS = {
  plan: { type: 'string' },
  workspace: { type: 'string' },
  env: { type: 'string' },
  'override-freeze': { type: 'string' },
  comment: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  'dry-run': { type: 'boolean' },
  redeploy: { type: 'string' },
  var: { type: 'string', multiple: true },
  tick: { type: 'string', multiple: true },
  waive: { type: 'string', multiple: true },
  reason: { type: 'string' },
  follow: { type: 'boolean' },
  wait: { type: 'string' },
  offline: { type: 'string' },
  format: { type: 'string' },
  verbose: { type: 'boolean' },
  write: { type: 'boolean' },
  retry: { type: 'boolean' },
  late: { type: 'boolean' },
  force: { type: 'boolean' },
  restore: { type: 'boolean' },
  'no-restore': { type: 'boolean' },
  template: { type: 'string' },
  json: { type: 'boolean' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  version: { type: 'boolean', short: 'V' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The commands, as the help lists them: what main dispatches and what completion offers. */
export const COMMAND_NAMES = [
  'validate',
  'run',
  'resume',
  'abandon',
  'status',
  'rollback',
  'report',
  'history',
  'compare',
  'approve',
  'changelog',
  'schema',
  'init',
  'completion',
  'load',
] as const;

/** The commands whose arguments are run ids: each is checked to be one before anything is read or run. */
export const TAKES_RUNS: readonly string[] = ['status', 'report', 'resume', 'rollback', 'abandon', 'compare'];

function parseOnce(argv: string[]) {
  return parseArgs({ args: argv, tokens: true, allowPositionals: true, options: OPTIONS });
}

export function splitKv(kv: string, flag: string): [string, string] {
  const i = kv.indexOf('=');
  if (i <= 0) throw new Error(`${flag} expects NAME=VALUE, got "${kv}"`);
  return [kv.slice(0, i), kv.slice(i + 1)];
}

export function defaultWorkspace(planFile: string): string {
  const dir = path.dirname(planFile);
  return path.basename(dir) === '.release' ? path.dirname(dir) : dir;
}
