import * as crypto from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { foldJournal } from '../model/releaseState';
import { signalRecorded } from '../exec/signal';
import type { RunInputs } from '../base/inputs';
import type { RunContext } from './context';
import type { EngineOptions } from './ports';
import { liveState } from './live';
import { declaresGates } from './committedPlan';

/**
 * The plan's identity for approvals and resumes. Line endings are normalised (CRLF and lone CR read as LF), as
 * YAML reads them: a checkout with core.autocrlf, or an editor saving CRLF, does not change what the plan says,
 * so it must not void an approval. The loader already drops a leading BOM. Anything else is hashed as written.
 */
export const planHash = (planText: string) => crypto.createHash('sha256').update(planText.replace(/\r\n?/g, '\n')).digest('hex');

/** The facts a new run's journal starts with. */
export function startedEvent(
  o: EngineOptions,
  c: RunContext,
  facts: {
    planRel: string;
    version: string;
    previous?: { version: string; source: string; uncertain?: string };
    commit?: string;
    clean?: boolean;
    redeployOf?: { runId: string; tagCommit?: string };
    inputs?: RunInputs;
  },
) {
  return {
    type: 'release.started' as const,
    runId: c.runId,
    plan: facts.planRel,
    name: o.plan.release.name,
    version: facts.version,
    environment: o.plan.release.environment,
    user: c.user,
    host: os.hostname(),
    pid: process.pid,
    planHash: planHash(o.planText),
    ...(facts.previous ? { previousVersion: facts.previous.version, previousVersionFrom: facts.previous.source } : {}),
    ...(facts.previous?.uncertain ? { previousVersionUncertain: facts.previous.uncertain } : {}),
    ...(facts.commit ? { commit: facts.commit } : {}),
    ...(facts.clean !== undefined ? { clean: facts.clean } : {}),
    ...(facts.redeployOf ? { redeployOf: facts.redeployOf } : {}),
    ...(facts.inputs ? { inputs: facts.inputs } : {}),
  };
}

/**
 * What a reopened journal says with nobody running it, made facts: interrupted steps (and the
 * processes they left), an unfinished rollback, a plan changed since the start.
 */
export function recordReopenFacts(c: RunContext, planText: string, torn: boolean): void {
  // What the journal says with nobody running it: the steps that were running are interrupted.
  const closed = foldJournal(c.events, { closed: true });
  if (torn) c.append({ type: 'warning', message: 'the journal ended in a torn line (a crash mid-write); that line was dropped' });
  for (const st of Object.values(closed.steps)) {
    if (st.state !== 'interrupted') continue;
    c.append({ type: 'step.interrupted', step: st.key, message: st.message ?? 'interrupted' });
    // The group only once proven the step's; those that left it (setsid, setpgid, a subshell's child handed to init) by the step's mark.
    const { group, marked, refused } = signalRecorded({ pid: st.pid, start: st.start, mark: st.mark }, 'SIGKILL');
    if (refused) c.append({ type: 'warning', message: `the interrupted step "${st.name}": ${refused}` });
    if (group !== undefined || marked)
      c.append({
        type: 'warning',
        message: `ended the processes left running by the interrupted step "${st.name}" (${[group !== undefined ? `process group ${group}` : '', marked ? `${marked} process(es) outside it` : ''].filter(Boolean).join(' and ')})`,
      });
  }
  if (c.state.rollback && !c.state.rollback.outcome) {
    c.append({ type: 'rollback.finished', outcome: 'rollback-failed', message: 'the rollback was interrupted before it finished' });
    c.append({ type: 'release.finished', outcome: 'rollback-failed', message: 'the rollback was interrupted before it finished; roll back again' });
  }
  const started = c.events.find((e) => e.type === 'release.started');
  if (started && started.type === 'release.started' && started.planHash !== planHash(planText))
    c.append({ type: 'warning', message: 'the plan changed since this release started; the current plan is used, unless the run has environment gates' });
}

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

/**
 * The old colour the serving run kept up for its rollback, which the new run retires before it
 * deploys: what `liveState` says, so a run rolled back, or one whose switch may not have happened, hands none on.
 */
export function oldColourKept(o: EngineOptions): { from: string; active: string; idle: string } | undefined {
  if (!o.plan.phases.deploy.blueGreen?.retire.length) return undefined;
  return liveState(o.workspace, o.plan).keptColour;
}
