// What a rollback of a run would do, without doing it: the CLI's `rollback RUN --dry-run`. It reads the run's
// journal and nothing else: no lock is taken (a release running elsewhere may hold it), nothing is journaled.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Plan } from '../../model/schema';
import { interpolate, runScope } from '../../plan/scope';
import type { ReleaseState } from '../../model/releaseState';
import { loadRun, runDir, runsDir } from './runs';
import { databasePreview } from './databasePreview';
import { rollbackAdmission, spanText, supersedingRuns } from '../gates/rollbackAdmission';

export type RollbackPreview = { ok: true; text: string } | { ok: false; message: string; supersededBy?: string };

/** The variable values the rollback would run with: those the run started with (a secret kept by hash only is named, not shown). */
function journaledVars(s: ReleaseState, plan: Plan): Record<string, string> {
  const kept = s.inputs?.variables;
  if (!kept) return { ...plan.variables };
  return Object.fromEntries(Object.entries(kept).map(([k, v]) => [k, 'value' in v ? v.value : `<${k}: the value the run started with>`]));
}

/**
 * The rollback of `runId` as `rollback` would run it now: whether it may start (the same admission), what it
 * goes back to, and every rollback command with the run's own values (its backup, its colours, its previous version).
 */
export function previewRollback(workspace: string, plan: Plan, runId: string, o: { env: NodeJS.ProcessEnv; force?: boolean; now?: number }): RollbackPreview {
  const dir = runDir(workspace, runId);
  if (!fs.existsSync(path.join(dir, 'journal.jsonl'))) return { ok: false, message: `no release run ${runId} in ${runsDir(workspace)}` };
  const s = loadRun(workspace, runId).state;
  const admission = rollbackAdmission(s, plan, o.now ?? Date.now(), supersedingRuns(workspace, s), Boolean(o.force));
  if (!admission.ok) return { ok: false, message: admission.refusal, ...(admission.supersededBy ? { supersededBy: admission.supersededBy.runId } : {}) };
  const scope = runScope(plan, s, dir, o.env, journaledVars(s, plan));
  const resolve = (t: string) => {
    try {
      return interpolate(t, scope);
    } catch (e) {
      return `<cannot resolve: ${(e as Error).message}>`;
    }
  };
  const target = s.previousVersion
    ? `${s.previousVersion}${s.previousVersionUncertain ? ` (uncertain at the run's start: ${s.previousVersionUncertain})` : ''}`
    : 'the version before it (the run recorded none: ${release.previousVersion} is empty)';
  const { steps, budget } = plan.rollback;
  const L = [
    `Rollback preview of ${s.name} ${s.version} → ${s.environment} (run ${runId}; nothing runs, nothing is journaled, no lock is taken)`,
    '',
    `Goes back to: ${target}`,
    ...(s.colors ? [`Colours of the run: active ${s.colors.active}, idle ${s.colors.idle}`] : []),
    '',
    'Asked first:',
    ...admission.question.message.split('\n').map((l) => `  ${l}`),
    '',
    `Rollback (budget ${spanText(budget)}):`,
    ...steps.map((st, i) => `  R${i + 1}. ${resolve(st.name ?? st.run)}: $ ${resolve(st.run)}${st.timeout ? `   (timeout ${st.timeout / 1000} s)` : ''}`),
  ];
  L.push(...databasePreview(plan, resolve));
  const a = plan.announce;
  const channels = [a.command ? 'command' : '', a.webhook ? 'webhook' : '', a.notify ? 'notification' : ''].filter(Boolean);
  if (channels.length) L.push('', `Then announced (${channels.join(', ')}).`);
  return { ok: true, text: L.join('\n') };
}
