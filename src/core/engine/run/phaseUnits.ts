import type { HealthCheck, LogCheck, PhaseId, Plan, Step, VerificationHttpCheck } from '../../model/schema';

/** One thing the engine does and journals as a step: a command, a check, or a monitoring task. */
export type Unit =
  | { key: string; phase: PhaseId; name: string; kind: 'run'; step: Step; vars?: Record<string, string>; announce?: boolean; group?: string }
  | {
      key: string;
      phase: PhaseId;
      name: string;
      kind: 'health';
      check: HealthCheck;
      vars?: Record<string, string>;
      rollbackOnFail?: boolean;
      group?: string;
    }
  /** A canary's weight held and watched against the guards; a breach rolls back. */
  | { key: string; phase: PhaseId; name: string; kind: 'analysis'; weight: number; index: number; of: number; durationMs: number }
  | { key: string; phase: PhaseId; name: string; kind: 'http'; check: VerificationHttpCheck }
  | { key: string; phase: PhaseId; name: string; kind: 'log'; check: LogCheck }
  | { key: string; phase: PhaseId; name: string; kind: 'baseline' }
  | { key: string; phase: PhaseId; name: string; kind: 'monitor' }
  | { key: string; phase: PhaseId; name: string; kind: 'notify' | 'webhook'; announce: true };

/** A step's name, or its command cut to 60 characters, never inside a `${…}` (a cut reference would not resolve). */
function stepName(s: Step): string {
  if (s.name !== undefined) return s.name;
  if (s.run.length <= 60) return s.run;
  let cut = 57;
  const open = s.run.lastIndexOf('${', cut);
  if (open !== -1 && s.run.indexOf('}', open) >= cut) cut = open;
  return `${s.run.slice(0, cut)}…`;
}

/**
 * The phase whose first unit captures the monitoring baseline: the first one that touches
 * production (the backup reads it, the migration writes it), so the baseline is production
 * before this release changed anything.
 */
export function baselinePhase(plan: Plan): PhaseId {
  const p = plan.phases;
  if (p.backup?.steps.length) return 'backup';
  if (p.migration?.steps.length) return 'migration';
  return 'deploy';
}

export const isBaselineStep = (key: string) => key.endsWith('/baseline');

/** The units of one phase, in order. An empty list means the plan does not use the phase. */
export function unitsFor(plan: Plan, phase: PhaseId): Unit[] {
  const units = phaseUnits(plan, phase);
  if (units.length === 0 || phase !== baselinePhase(plan)) return units;
  return [{ key: `${phase}/baseline`, phase, name: 'Capture the monitoring baseline', kind: 'baseline' }, ...units];
}

type RunUnit = Extract<Unit, { kind: 'run' }>;

function runUnits(phase: PhaseId, prefix: string, list: Step[], extra: Partial<RunUnit> = {}): Unit[] {
  return list.map((s, i) => ({ key: `${phase}/${prefix}${i}`, phase, name: stepName(s), kind: 'run' as const, step: s, ...extra }));
}

function phaseUnits(plan: Plan, phase: PhaseId): Unit[] {
  const p = plan.phases;
  switch (phase) {
    case 'preparation':
    case 'staging':
    case 'backup':
    case 'migration':
    case 'config':
      return runUnits(phase, '', p[phase]?.steps ?? []);
    case 'deploy':
      return deployUnits(plan);
    case 'verification': {
      const v = p.verification;
      if (!v) return [];
      return [
        ...runUnits(phase, '', v.steps),
        ...v.http.map((c, i): Unit => ({ key: `verification/http.${i}`, phase, name: c.name ?? `${c.method} ${c.url}`, kind: 'http', check: c })),
        ...v.logs.map((c, i): Unit => ({ key: `verification/logs.${i}`, phase, name: c.name ?? `Log scan: ${c.run}`, kind: 'log', check: c })),
      ];
    }
    case 'monitoring':
      return [{ key: 'monitoring/window', phase, name: 'Watch the metrics against the baseline', kind: 'monitor' }];
    case 'announcement':
      return announcementUnits(plan);
  }
}

function deployUnits(plan: Plan): Unit[] {
  const phase = 'deploy';
  const d = plan.phases.deploy;
  if (d.strategy === 'blue-green' && d.blueGreen) {
    const bg = d.blueGreen;
    return [
      ...runUnits(phase, 'deploy.', bg.deploy),
      { key: 'deploy/health', phase, name: 'Health check of ${deploy.color}', kind: 'health', check: bg.healthCheck },
      ...runUnits(phase, 'switch.', bg.switch),
    ];
  }
  if (d.strategy === 'rolling' && d.rolling) return rollingUnits(d.rolling);
  if (d.strategy === 'canary' && d.canary) return canaryUnits(d.canary);
  return runUnits(phase, '', d.steps);
}

/** Deploy the canary, then per weight: set it, hold it for the analysis; then promote. */
function canaryUnits(k: NonNullable<Plan['phases']['deploy']['canary']>): Unit[] {
  const phase = 'deploy';
  const units: Unit[] = runUnits(phase, 'canary.deploy.', k.deploy);
  k.weights.forEach((weight, i) => {
    const vars = { 'canary.weight': String(weight) };
    units.push(...runUnits(phase, `canary.${i + 1}.set.`, k.setWeight, { vars }).map((u) => ({ ...u, name: `${u.name} (${weight} %)` })));
    units.push({
      key: `deploy/canary.${i + 1}.analysis`,
      phase,
      name: `Analysis at ${weight} % (${i + 1}/${k.weights.length})`,
      kind: 'analysis',
      weight,
      index: i + 1,
      of: k.weights.length,
      durationMs: k.analysis,
    });
  });
  units.push(...runUnits(phase, 'canary.promote.', k.promote));
  return units;
}

/**
 * Batch by batch: the targets of a batch run their steps side by side (one group), then their health
 * checks side by side (another group), before the next batch.
 */
function rollingUnits(r: NonNullable<Plan['phases']['deploy']['rolling']>): Unit[] {
  const phase = 'deploy';
  const units: Unit[] = [];
  for (let b = 0; b * r.maxUnavailable < r.targets.length; b++) {
    const batch = r.targets.slice(b * r.maxUnavailable, (b + 1) * r.maxUnavailable);
    for (const target of batch) {
      r.steps.forEach((s, i) =>
        units.push({
          key: `deploy/batch${b + 1}/${target}/${i}`,
          phase,
          name: `${stepName(s)} (${target})`,
          kind: 'run',
          step: s,
          vars: { target },
          group: `batch${b + 1}`,
        }),
      );
    }
    for (const target of batch)
      units.push({
        key: `deploy/batch${b + 1}/${target}/health`,
        phase,
        name: `Health check of ${target}`,
        kind: 'health',
        check: r.healthCheck,
        vars: { target },
        rollbackOnFail: true,
        group: `batch${b + 1}/health`,
      });
  }
  return units;
}

function announcementUnits(plan: Plan): Unit[] {
  const phase = 'announcement';
  const units: Unit[] = [];
  units.push(...runUnits(phase, '', plan.phases.announcement?.steps ?? [], { announce: true }));
  if (plan.announce.command)
    units.push({ key: 'announcement/command', phase, name: 'Announcement command', kind: 'run', step: { run: plan.announce.command }, announce: true });
  if (plan.announce.webhook) units.push({ key: 'announcement/webhook', phase, name: 'Webhook', kind: 'webhook', announce: true });
  if (plan.announce.notify) units.push({ key: 'announcement/notify', phase, name: 'Notify the team', kind: 'notify', announce: true });
  return units;
}

/**
 * The retire steps of an earlier release's old colour, run at the start of the next release's
 * deploy: until then the old colour stays up, so that a rollback is a switch to a running instance.
 */
export function retireUnits(plan: Plan, kept: { from: string; active: string; idle: string }): Unit[] {
  return (plan.phases.deploy.blueGreen?.retire ?? []).map((s, i) => ({
    key: `deploy/retire.${i}`,
    phase: 'deploy' as const,
    name: `${stepName(s)} (kept for the rollback of ${kept.from})`,
    kind: 'run' as const,
    step: s,
    vars: { 'deploy.active': kept.active, 'deploy.color': kept.idle },
  }));
}
