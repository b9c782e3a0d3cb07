import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { RunContext } from '../run/context';
import { declaresGates } from './committedPlan';

/**
 * The plan's identity for approvals and resumes. Line endings are normalised (CRLF and lone CR read as LF), as
 * YAML reads them: a checkout with core.autocrlf, or an editor saving CRLF, does not change what the plan says,
 * so it must not void an approval. The loader already drops a leading BOM. Anything else is hashed as written.
 */
export const planHash = (planText: string) => crypto.createHash('sha256').update(planText.replace(/\r\n?/g, '\n')).digest('hex');

/**
 * Why a paused run must not resume under the plan as it is now: the plan names another release or
 * another environment than the one the run started for (and whose gates and go it passed). The
 * journal would keep the old name and environment while the steps ran for the new ones.
 */
export function identityChanged(c: RunContext): string | undefined {
  const started = c.events.find((e) => e.type === 'release.started');
  if (!started || started.type !== 'release.started') return undefined;
  const now = c.o.plan.release;
  const changes = [
    ...(started.name !== now.name ? [`its name from ${JSON.stringify(started.name)} to ${JSON.stringify(now.name)}`] : []),
    ...(started.environment !== now.environment ? [`its environment from ${JSON.stringify(started.environment)} to ${JSON.stringify(now.environment)}`] : []),
  ];
  if (changes.length === 0) return undefined;
  return `the plan changed ${changes.join(' and ')} since run ${c.runId} started, so it does not resume: its gates and go were for ${started.name} ${started.version} to ${started.environment}. Put those back to resume it, or abandon it and start a new release`;
}

/** The environment gates a run's journal shows it judged (not the checklist, acceptance or git gates). */
const ENV_GATES = new Set(['freeze', 'promotion', 'approval', 'approvals']);

/**
 * Why a paused run with environment gates must not resume under this plan: the plan file or its hash is not
 * the one the run started with, so the gates it passed were another plan's (an approval binds the plan's hash).
 * A run counts as gated when the plan in use declares gates, or when its journal shows an environment gate
 * judged: a resume with `--plan` naming another committed plan, without gates, must not shed them.
 */
export function gatedPlanChanged(c: RunContext): string | undefined {
  const started = c.events.find((e) => e.type === 'release.started');
  if (!started || started.type !== 'release.started') return undefined;
  const planRel = path.relative(c.o.workspace, c.o.planFile) || c.o.planFile;
  const sameFile = path.normalize(started.plan) === path.normalize(planRel);
  const sameHash = started.planHash === planHash(c.o.planText);
  if (sameFile && sameHash) return undefined;
  const judged = c.events.some((e) => e.type === 'gate.changed' && ENV_GATES.has(e.gate));
  if (!judged && !declaresGates(c.o.plan)) return undefined;
  const what = sameFile
    ? `the plan ${started.plan} changed since run ${c.runId} started`
    : `run ${c.runId} started with the plan ${started.plan}, and this resume names ${planRel}`;
  const hashes = sameHash ? '' : ` (plan hash ${started.planHash.slice(0, 12)} then, ${planHash(c.o.planText).slice(0, 12)} now)`;
  return `${what}, and its environments have gates (approvals, promotion, freeze) that were judged on the plan as it was${hashes}: ${sameFile ? 'put the plan back as it was to resume' : `resume with the plan it started with, as it was (release-pilot resume --plan ${started.plan})`}, or abandon this run (release-pilot abandon ${c.runId} --reason TEXT) and start a new release`;
}
