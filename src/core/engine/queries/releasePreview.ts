// What a release would do, in order, without running it: the CLI's --dry-run and the editor's Preview Release.
import type { Plan } from '../../model/schema';
import { PHASES, PHASE_TITLES } from '../../model/schema';
import { interpolate, previewScope, runScope } from '../../plan/scope';
import { runtimeVarEnvName, withRuntimeVars } from '../../plan/shellRefs';
import { SecretMasker } from '../../exec/mask';
import { checkAcceptance, runCheck } from '../gates/checks';
import { previewFacts, releasedBefore, startFacts } from './releaseFacts';
import { unsetEnvReferences } from '../gates/secrets';
import { resolvedPathProblem } from '../gates/envPath';
import { envReferences } from '../../plan/load';
import { headCommit } from '../../git/gate';
import { unitsFor, type Unit } from '../run/phaseUnits';
import { currentEnvironment } from '../../plan/environments';
import { databasePreview } from './databasePreview';
import { judgeEnvironmentGates } from '../gates/gatesNow';

type Resolve = (t: string, extra?: Record<string, string>) => string;

/** Every command of the plan in the order a release runs it, with variables resolved. */
export function dryRun(given: Plan, vars: Record<string, string>, facts: { version?: string; previousVersion?: string } = {}): string {
  // The plan a run executes: a command reads each variable given at run time from its environment, as data.
  const plan = withRuntimeVars(given, Object.keys(vars));
  const scope = previewScope(plan, { vars, ...facts });
  const r: Resolve = (t, extra = {}) => interpolate(t, { ...scope, builtins: { ...scope.builtins, ...extra } });
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
  // The commands below read these as "$NAME": a dry run that showed only the commands would hide the values.
  const env = Object.entries(plan.env ?? {});
  if (env.length) L.push('', 'Environment of every command (env):', ...env.map(([k, v]) => `  ${k}=${r(v)}`));
  const runtime = Object.entries(vars);
  if (runtime.length)
    L.push(
      '',
      'Given at run time (--var), read by every command from its environment as data, never as shell text:',
      ...runtime.map(([k, v]) => `  ${runtimeVarEnvName(k)}=${JSON.stringify(v)}`),
    );
  let n = 1;
  for (const phase of PHASES) {
    const units = unitsFor(plan, phase);
    if (!units.length) continue;
    L.push('', `${PHASE_TITLES[phase]}:`);
    for (const u of units) {
      const extra = 'vars' in u ? (u.vars ?? {}) : {};
      L.push(`  ${String(n++).padStart(2)}. ${r(u.name, extra)}: ${unitCommand(plan, u, r, extra)}`);
    }
  }
  L.push('', `Rollback (within ${plan.rollback.deadline / 1000} s):`);
  plan.rollback.steps.forEach((s, i) => L.push(`  R${i + 1}. ${r(s.name ?? s.run)}: $ ${r(s.run)}`));
  L.push(...databasePreview(plan, r));
  return L.join('\n');
}

/** What one unit would do, as the dry run shows it. */
function unitCommand(plan: Plan, u: Unit, r: Resolve, extra: Record<string, string>): string {
  switch (u.kind) {
    case 'run':
      return `$ ${r(u.step.run, extra)}${u.step.timeout ? `   (timeout ${u.step.timeout / 1000} s)` : ''}${u.step.production ? '   [asks first]' : ''}`;
    case 'health':
      return u.check.http
        ? `GET ${r(u.check.http.url, extra)} (up to ${u.check.retries + 1} tries)`
        : `$ ${r(u.check.run!, extra)}   (health, up to ${u.check.retries + 1} tries)`;
    case 'http':
      return `${u.check.method} ${r(u.check.url)} → expect ${u.check.status}${u.check.maxLatency ? ` within ${u.check.maxLatency} ms` : ''}${u.check.retries ? ` (up to ${u.check.retries + 1} tries)` : ''}`;
    case 'log':
      return `$ ${r(u.check.run)}   (scan for ${u.check.errorPatterns.join(', ')})`;
    case 'baseline':
      return `baseline: ${plan.monitoring.baseline.fixed ? 'fixed values' : `capture ${(plan.monitoring.baseline.capture ?? 0) / 1000} s`}`;
    case 'monitor':
      return `watch ${plan.monitoring.metrics.map((m) => m.id).join(', ')} for ${plan.monitoring.window / 1000} s every ${plan.monitoring.interval / 1000} s; on breach: ${plan.monitoring.onBreach}`;
    case 'analysis':
      return `canary at ${u.weight} %: watch ${plan.monitoring.metrics.map((m) => m.id).join(', ')} for ${u.durationMs / 1000} s every ${plan.monitoring.interval / 1000} s; on breach: ${plan.monitoring.onBreach}`;
    case 'webhook':
      return 'POST webhook (URL from the environment)';
    case 'notify':
      return 'notify the team';
  }
}

export interface GateState {
  gate: string;
  state: 'open' | 'blocked' | 'not evaluated';
  detail: string;
}

/**
 * The gates as they stand now, evaluated without running anything of the plan: the verdict from a file,
 * checklist files and git checks are read; a verdict from a command or URL, a checklist command and a
 * manual tick are named, not run.
 */
export async function previewGates(
  plan: Plan,
  workspace: string,
  facts: { version: string; previousVersion?: string; vars?: Record<string, string>; planText?: string; planRel?: string },
): Promise<GateState[]> {
  const scope = previewScope(plan, { vars: facts.vars, version: facts.version, previousVersion: facts.previousVersion });
  const resolve = (t: string) => interpolate(t, scope);
  const masker = new SecretMasker([]);
  const out: GateState[] = [];
  const a = plan.acceptance;
  if (a.file) {
    const r = await checkAcceptance(a, workspace, masker, resolve);
    out.push({ gate: 'acceptance', state: r.ok ? 'open' : 'blocked', detail: r.detail });
  } else {
    out.push({
      gate: 'acceptance',
      state: 'not evaluated',
      detail: `the verdict comes from ${a.command ? 'a command' : 'a URL'}, which a preview does not ${a.command ? 'run' : 'request'}`,
    });
  }
  for (const c of plan.checklist) {
    if (c.manual) out.push({ gate: `checklist ${c.id}`, state: 'not evaluated', detail: 'a person ticks it when the release starts' });
    else if (c.run) out.push({ gate: `checklist ${c.id}`, state: 'not evaluated', detail: `a command, which a preview does not run: $ ${resolve(c.run)}` });
    else {
      const r = await runCheck(c, workspace, facts.version, plan.release.tagPrefix, masker, resolve);
      out.push({ gate: `checklist ${c.id}`, state: r.ok ? 'open' : 'blocked', detail: r.detail });
    }
  }
  return [...out, ...(await environmentGatesNow(plan, workspace, facts))];
}

/** The environment's freeze, promotion and approval gates as a run would judge them now (nothing journaled). */
async function environmentGatesNow(
  plan: Plan,
  workspace: string,
  facts: { version: string; planText?: string; planRel?: string; vars?: Record<string, string> },
): Promise<GateState[]> {
  const judged = await judgeEnvironmentGates(workspace, plan, facts.version, facts);
  if (!judged) return [];
  const out: GateState[] = judged.verdicts.map((v) => ({ gate: v.gate, state: v.state, detail: v.message }));
  if (currentEnvironment(plan)?.approvals && facts.planText === undefined)
    out.push({ gate: 'approval', state: 'not evaluated', detail: "the plan's text is needed to match approvals to it" });
  return out;
}

/** The gates section of a preview. */
export function renderGates(gates: readonly GateState[]): string {
  const mark = { open: '✓', blocked: '✗', 'not evaluated': '·' } as const;
  return ['Gates now (evaluated, nothing run):', ...gates.map((g) => `  ${mark[g.state]} ${g.gate}: ${g.state} — ${g.detail}`)].join('\n');
}

/**
 * The whole preview of a release of this plan now: every command resolved, in order, then the gates.
 * `evaluateGates: false` (an untrusted workspace) names the gates without reading git or files.
 */
export async function previewRelease(
  workspace: string,
  plan: Plan,
  planRel: string,
  planText: string,
  o: { vars?: Record<string, string>; evaluateGates?: boolean } = {},
): Promise<string> {
  const facts = await startFacts(workspace, plan, planRel, planText);
  const { version, previousVersion } = previewFacts(facts);
  const text = dryRun(plan, o.vars ?? {}, { version, previousVersion });
  if (o.evaluateGates === false) return `${text}\n\nGates: not evaluated (the workspace is not trusted).`;
  const gates = await previewGates(plan, workspace, { version, previousVersion, vars: o.vars, planText, planRel });
  const unmet = facts.unmet.map((detail): GateState => ({ gate: 'start', state: 'blocked', detail }));
  return `${text}\n\n${renderGates([...gates, ...unmet, ...(await startRefusals(workspace, plan, planRel, planText, version, o.vars))])}`;
}

/** What Start Release itself would refuse before any gate: an unset `${env:…}`, a version released before. */
async function startRefusals(
  workspace: string,
  plan: Plan,
  planRel: string,
  planText: string,
  version: string,
  vars?: Record<string, string>,
): Promise<GateState[]> {
  const out: GateState[] = [];
  const refs = envReferences(planText);
  const names = new Set(refs.map((r) => r.name));
  if (names.size) {
    const unset = unsetEnvReferences(planText, planRel, process.env, refs);
    out.push({ gate: 'environment', state: unset ? 'blocked' : 'open', detail: unset ?? `every variable the plan reads is set (${[...names].join(', ')})` });
  }
  const badPath = resolvedPathProblem(plan, planText, planRel, runScope(plan, { version, runId: '' }, '', process.env, vars));
  if (badPath) out.push({ gate: 'environment', state: 'blocked', detail: badPath });
  const again = releasedBefore(workspace, plan, planRel, version, await headCommit(workspace));
  if (again) out.push({ gate: 'version', state: 'blocked', detail: again });
  return out;
}
