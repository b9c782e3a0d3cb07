import { PHASES, PHASE_TITLES, type Plan } from '../core/plan/schema';
import type { ReleaseState } from '../core/base/fold';
import { unitsFor, type Unit } from '../core/engine/units';
import { interpolate } from '../core/engine/interpolate';
import { previewScope } from '../core/plan/scope';

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

type Resolve = (t: string, extra?: Record<string, string>) => string;

/** Every command of the plan in the order a release runs it, with variables resolved. */
export function dryRun(plan: Plan, vars: Record<string, string>, facts: { version?: string; previousVersion?: string } = {}): string {
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
      return `${u.check.method} ${r(u.check.url)} → expect ${u.check.status}${u.check.maxLatency ? ` within ${u.check.maxLatency} ms` : ''}`;
    case 'log':
      return `$ ${r(u.check.run)}   (scan for ${u.check.errorPatterns.join(', ')})`;
    case 'baseline':
      return `baseline: ${plan.monitoring.baseline.fixed ? 'fixed values' : `capture ${(plan.monitoring.baseline.capture ?? 0) / 1000} s`}`;
    case 'monitor':
      return `watch ${plan.monitoring.metrics.map((m) => m.id).join(', ')} for ${plan.monitoring.window / 1000} s every ${plan.monitoring.interval / 1000} s; on breach: ${plan.monitoring.onBreach}`;
    case 'webhook':
      return 'POST webhook (URL from the environment)';
    case 'notify':
      return 'notify the team';
  }
}
