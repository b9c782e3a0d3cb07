import type { Plan } from '../model/schema';
import { ErrorCodes } from '../base/errors';

/**
 * The one scope of `${...}` references: the names a plan may use, where each has a value, how a
 * reference is recognised, and the values each front end builds. Validation, the engine, the dry
 * run, the tree and every dialog read it from here, so what validates is what resolves.
 */

/** When a built-in name has a value. */
export type Availability =
  /** From the loaded plan alone: everywhere a reference is resolved. */
  | 'always'
  /** Once a run exists: not in the checklist, whose checks a person runs from the tree before any run. */
  | 'run'
  /** In a blue-green plan, once the colours are known: steps, checks, monitoring, backup path and rollback. */
  | 'colors'
  /** In the steps and health check of a rolling deploy, for the target being deployed. */
  | 'target'
  /** In a canary's setWeight steps, for the weight being set. */
  | 'canary';

export interface BuiltinRef {
  name: string;
  description: string;
  when: Availability;
}

export const BUILTINS: readonly BuiltinRef[] = [
  { name: 'release.name', description: 'the release name from the plan', when: 'always' },
  { name: 'release.version', description: 'the version being released (`auto` resolved from the commits since the previous tag)', when: 'always' },
  { name: 'release.environment', description: 'the environment released to', when: 'always' },
  {
    name: 'release.previousVersion',
    description:
      'the version before this one: the last released run of this plan, else the previous version tag; a plan using it is refused when neither exists',
    when: 'always',
  },
  { name: 'run.id', description: 'the id of this run', when: 'run' },
  { name: 'run.dir', description: "this run's folder under .release/runs", when: 'run' },
  { name: 'backup.path', description: "phases.backup.path resolved, or the run's backup folder", when: 'run' },
  { name: 'deploy.color', description: 'blue-green: the idle colour this release deploys to', when: 'colors' },
  { name: 'deploy.active', description: 'blue-green: the colour serving traffic when the release started', when: 'colors' },
  { name: 'target', description: 'rolling: the target being deployed', when: 'target' },
  { name: 'canary.weight', description: 'canary: the percentage of the traffic the canary gets at this step (0 to 100)', when: 'canary' },
];
export const BUILTIN_NAMES: readonly string[] = BUILTINS.map((b) => b.name);

export const WHEN_TEXT: Record<Availability, string> = {
  always: 'wherever references are resolved',
  run: 'once a run exists: not in the checklist (its checks run from the tree before any run)',
  colors: 'in a blue-green plan, in steps, checks, monitoring, backup path and rollback (not in acceptance, checklist or blueGreen.active)',
  target: 'only in rolling.steps and rolling.healthCheck',
  canary: 'only in canary.setWeight',
};

/** `${...}` forms the plan owns, written canonically; any other `${...}` is left to the shell. */
export const PLAN_REF_RE = /\$\{(env:[^}]*|var\.[^}]*|release\.[^}]*|run\.[^}]*|backup\.[^}]*|deploy\.[^}]*|canary\.[^}]*|target)\}/g;

const WHOLE_REF_RE = new RegExp(`^${PLAN_REF_RE.source}$`);

/** What a `${` starts, once read: a reference of the plan (ref), a malformed one (problem), or the shell's. */
export interface RefMatch {
  start: number;
  end: number;
  raw: string;
  ref?: string;
  problem?: string;
}

// Lookalikes of the plan's forms: other case, spaces, non-ASCII. The shell cannot use any of these
// (a dot, a space or a non-ASCII letter in a name is a bad substitution), so claiming them refuses nothing valid.
const CLAIMED_ANY_CASE = /^\s*(?:var|release|run|backup|deploy|canary)\s*\./i;
const CLAIMED = /^\s*(?:env\s*:|target\s*$)/;
/** Where a shell parameter expansion's name ends (`${HOME:-défaut}` is the shell's). */
const SHELL_OPERATOR = /[:\-+?=#%/^,@[\]!*]/;

function claimed(head: string): boolean {
  if (CLAIMED_ANY_CASE.test(head) || CLAIMED.test(head)) return true;
  return /\P{ASCII}/u.test(head.split(SHELL_OPERATOR)[0]);
}

/** Longer than any name: deciding whether a `${` is the plan's reads no further, so a text of many `${` stays linear. */
const HEAD = 256;

/** Every `${...}` of a text the plan owns or that only looks like it, in order. */
export function scanReferences(text: string): RefMatch[] {
  const out: RefMatch[] = [];
  let from = 0;
  // The first `}` after a `${` is the same for every `${` before it: found once.
  let close = -2;
  for (;;) {
    const i = text.indexOf('${', from);
    if (i < 0) return out;
    if (close !== -1 && close < i + 2) close = text.indexOf('}', i + 2);
    const stop = close < 0 ? text.length : close;
    from = i + 2;
    if (!claimed(text.slice(i + 2, Math.min(stop, i + 2 + HEAD)))) continue;
    // Claimed: what it spans is skipped, so each character is sliced once.
    const body = text.slice(i + 2, stop);
    const end = close < 0 ? text.length : close + 1;
    const nonAscii = /[^\x20-\x7e]/.exec(body);
    const raw = text.slice(i, end);
    const m: RefMatch = { start: i, end, raw };
    const prev = text[i - 1];
    if (close < 0) m.problem = `"${short(raw)}" is not closed: expected \${...}`;
    else if (body.includes('${')) m.problem = `"${short(raw)}" nests a reference in a reference, which is not supported: resolve one name per \${...}`;
    else if (prev === '$') m.problem = `"$${short(raw)}" is ambiguous (an escape, or $ before a value?): write \${${short(body.trim())}} for the value`;
    else if (prev === '\\')
      m.problem = `"\\${short(raw)}" is ambiguous: a backslash does not escape a plan reference; write \${${short(body.trim())}} for the value, or leave \${...} out`;
    else if (nonAscii)
      m.problem = `"${short(raw)}" contains the character U+${nonAscii[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}, which no reference uses (a lookalike?)`;
    else if (!WHOLE_REF_RE.test(raw)) m.problem = `"${short(raw)}" is not written as a reference: expected \${${short(canonical(body))}}`;
    else m.ref = body;
    out.push(m);
    from = end;
  }
}

const short = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}…` : s);
function canonical(body: string): string {
  const t = body.replace(/\s+/g, '');
  const lower = t.toLowerCase();
  const builtin = BUILTIN_NAMES.find((n) => n.toLowerCase() === lower);
  if (builtin) return builtin;
  if (/^env:/i.test(t)) return `env:${t.slice(4)}`;
  if (/^var\./i.test(t)) return `var.${t.slice(4)}`;
  return t;
}

export interface Scope {
  env: NodeJS.ProcessEnv;
  vars: Record<string, string>;
  builtins: Record<string, string | undefined>;
}

export class UnresolvedReferenceError extends Error {
  override name = 'UnresolvedReferenceError';
  readonly code = ErrorCodes.UnresolvedReference;
}

/** Resolves the plan's `${...}` references; `${...}` forms the plan does not own are left to the shell. */
export function interpolate(text: string, scope: Scope): string {
  const refs = scanReferences(text);
  if (refs.length === 0) return text;
  let out = '';
  let at = 0;
  for (const m of refs) {
    out += text.slice(at, m.start) + valueOf(m, scope);
    at = m.end;
  }
  return out + text.slice(at);
}

function valueOf(m: RefMatch, scope: Scope): string {
  if (m.problem) throw new UnresolvedReferenceError(m.problem);
  const ref = m.ref!;
  if (ref.startsWith('env:')) {
    const v = scope.env[ref.slice(4)];
    if (typeof v !== 'string') throw new UnresolvedReferenceError(`environment variable ${ref.slice(4)} is not set (referenced as \${${ref}})`);
    return v;
  }
  if (ref.startsWith('var.')) {
    const v = Object.hasOwn(scope.vars, ref.slice(4)) ? scope.vars[ref.slice(4)] : undefined;
    if (v === undefined) throw new UnresolvedReferenceError(`unknown variable \${${ref}}`);
    return v;
  }
  const v = Object.hasOwn(scope.builtins, ref) ? scope.builtins[ref] : undefined;
  if (v === undefined)
    throw new UnresolvedReferenceError(`\${${ref}} has no value ${BUILTIN_NAMES.includes(ref) ? 'at this point of the release' : '(unknown reference)'}`);
  return v;
}

/** Where in a plan a text sits, as far as references go. */
export type Place =
  /** Run from the tree before any run, and by the release before the colours are known. */
  | 'checklist'
  /** Before the colours are known: acceptance verdict, the active-colour command. */
  | 'gate'
  /** A step, check or metric of the release. */
  | 'step'
  /** A rolling deploy's step or health check, run per target. */
  | 'target'
  /** A canary's setWeight step, run per weight. */
  | 'canary'
  | 'rollback'
  | 'backup-path'
  /** Used as written: nothing is resolved here. */
  | 'literal';

const STEP = String.raw`\.(?:run|name|env\.[^.]+)`;
const PLACES: [RegExp, Place][] = [
  [/^acceptance\.(?:file|command|url)$/, 'gate'],
  [/^checklist\.(?:run|files)$/, 'checklist'],
  [/^phases\.deploy\.blueGreen\.active$/, 'gate'],
  // The plan's env reaches the checklist commands too, which the tree runs before any run exists.
  [/^env\.[^.]+$/, 'checklist'],
  [/^phases\.backup\.path$/, 'backup-path'],
  [new RegExp(`^phases\\.deploy\\.rolling\\.(?:steps${STEP}|healthCheck\\.(?:run|http\\.url))$`), 'target'],
  [new RegExp(`^phases\\.deploy\\.canary\\.setWeight${STEP}$`), 'canary'],
  [new RegExp(`^phases\\.deploy\\.canary\\.(?:deploy|promote)${STEP}$`), 'step'],
  [new RegExp(`^rollback\\.steps${STEP}$`), 'rollback'],
  [new RegExp(`^rollback\\.database\\.(?:down|restore)${STEP}$`), 'rollback'],
  // The compat check runs in the staging phase, as a step of the run (src/core/engine/run/dbCompat.ts).
  [new RegExp(`^rollback\\.database\\.compatCheck${STEP}$`), 'step'],
  // Each text the writes since the backup are counted with (src/core/engine/run/dbWrites.ts).
  [/^rollback\.database\.writes\.(?:sqlite|command|postgres\.url|mysql\.(?:host|socket|user|password|database))$/, 'rollback'],
  [new RegExp(`^phases\\.(?:preparation|staging|backup|migration|config|announcement|verification|deploy)\\.steps${STEP}$`), 'step'],
  [new RegExp(`^phases\\.deploy\\.blueGreen\\.(?:deploy|switch|retire)${STEP}$`), 'step'],
  [/^phases\.deploy\.blueGreen\.healthCheck\.(?:run|http\.url)$/, 'step'],
  [/^phases\.verification\.(?:http\.(?:url|name|requestBody|headers\.[^.]+)|logs\.(?:run|name))$/, 'step'],
  [/^phases\.deploy\.blueGreen\.healthCheck\.http\.(?:requestBody|headers\.[^.]+)$/, 'step'],
  [/^phases\.deploy\.rolling\.healthCheck\.http\.(?:requestBody|headers\.[^.]+)$/, 'target'],
  // Each text a metric source resolves (src/core/monitor/sources.ts): a test holds the two to the plan reference.
  [/^monitoring\.metrics\.(?:prometheus\.(?:url|query)|scrape\.url|http\.url|accessLog\.path|stubStatus\.url|command)$/, 'step'],
  [/^announce\.(?:command|webhook\.url)$/, 'step'],
  // The store is opened before a run exists (its lock decides whether one starts); its URL is an ${env:NAME} only.
  [/^store\.postgres\.url$/, 'checklist'],
];

/** The place of a dotted key path such as `phases.deploy.blueGreen.deploy[0].run`. */
export function placeOf(keyPath: string): Place {
  const p = keyPath.replace(/\[\d+\]/g, '');
  return PLACES.find(([re]) => re.test(p))?.[1] ?? 'literal';
}

/** Why a built-in name has no value at a place of this plan, or undefined when it has one. */
export function unavailable(name: string, place: Place, plan: Plan): string | undefined {
  const b = BUILTINS.find((x) => x.name === name);
  if (!b) return 'unknown';
  if (place === 'literal') return 'this field is used as written';
  if (place === 'backup-path' && name === 'backup.path') return 'backup.path cannot refer to itself';
  if (b.when === 'run' && place === 'checklist') return 'a checklist item is checked from the tree before any run exists';
  if (b.when === 'colors') {
    if (plan.phases.deploy.strategy !== 'blue-green') return 'it has a value only in a blue-green deploy';
    if (place === 'gate' || place === 'checklist')
      return 'the colours are known only after the acceptance verdict and the checklist, for steps, checks, monitoring, backup path and rollback';
  }
  if (b.when === 'target' && place !== 'target') return `it has a value ${WHEN_TEXT.target}`;
  if (b.when === 'canary' && place !== 'canary') return `it has a value ${WHEN_TEXT.canary}`;
  return undefined;
}

/** Whether any text of the plan refers to a built-in name (previous version, say). */
export function planUses(planText: string, name: string): { line: number; column: number } | undefined {
  const lines = planText.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = scanReferences(lines[i]).find((r) => r.ref === name);
    if (m) return { line: i + 1, column: m.start + 1 };
  }
  return undefined;
}

/** What a front end knows when it builds the values; whatever it does not know has no value. */
export interface ScopeFacts {
  plan: Plan;
  env: NodeJS.ProcessEnv;
  /** `--var` overrides. */
  vars?: Record<string, string>;
  /** The resolved version (never `auto`). */
  version: string;
  previousVersion?: string;
  runId?: string;
  runDir?: string;
  colors?: { active: string; idle: string };
  target?: string;
}

/** The values of a live run (engine), a tree click or a dialog: only what is known. */
export function buildScope(f: ScopeFacts): Scope {
  const vars = { ...f.plan.variables, ...f.vars };
  const builtins: Record<string, string | undefined> = {
    'release.name': f.plan.release.name,
    'release.version': f.version,
    'release.environment': f.plan.release.environment,
    'release.previousVersion': f.previousVersion,
    'run.id': f.runId,
    'run.dir': f.runDir,
    'deploy.color': f.colors?.idle,
    'deploy.active': f.colors?.active,
    target: f.target,
  };
  if (f.runDir) {
    const template = f.plan.phases.backup?.path;
    // A template that cannot resolve yet leaves backup.path without a value rather than failing every other reference.
    try {
      builtins['backup.path'] = template ? interpolate(template, { env: f.env, vars, builtins }) : `${f.runDir}/backup`;
    } catch {
      builtins['backup.path'] = undefined;
    }
  }
  return { env: f.env, vars, builtins };
}

/** What a run knows at a point, as its journal's fold says (ReleaseState fits). */
export interface RunFacts {
  version: string;
  runId: string;
  previousVersion?: string;
  colors?: { active: string; idle: string };
}

/** The values of a run at the point its state describes: the engine's, and any dialog about that run. */
export function runScope(plan: Plan, run: RunFacts, runDir: string, env: NodeJS.ProcessEnv, vars?: Record<string, string>): Scope {
  return buildScope({
    plan,
    env,
    vars,
    version: run.version || plan.release.version,
    previousVersion: run.previousVersion,
    runId: run.runId || undefined,
    runDir: run.runId ? runDir : undefined,
    colors: run.colors,
  });
}

/** What a person reads for a step: its name, or its command. */
export function stepTitle(step: { name?: string; run: string }, scope: Scope): string {
  return interpolate(step.name ?? step.run, scope);
}

/** The values a preview shows (dry run): placeholders in angle brackets for what only a run knows. */
export function previewScope(plan: Plan, o: { vars?: Record<string, string>; version?: string; previousVersion?: string } = {}): Scope {
  const colors = plan.phases.deploy.blueGreen?.colors;
  return buildScope({
    plan,
    env: new Proxy({}, { get: (_t, k) => (typeof k === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `<env:${k}>` : undefined) }),
    vars: o.vars,
    version: o.version ?? plan.release.version,
    previousVersion: o.previousVersion,
    runId: '<run-id>',
    runDir: '.release/runs/<run-id>',
    colors:
      plan.phases.deploy.strategy === 'blue-green' && colors ? { idle: `<idle: ${colors.join('|')}>`, active: `<active: ${colors.join('|')}>` } : undefined,
  });
}
