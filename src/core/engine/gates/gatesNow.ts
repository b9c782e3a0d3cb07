import * as os from 'node:os';
import * as path from 'node:path';
import type { Plan } from '../../model/schema';
import { currentEnvironment, hasGates, planForEnvironment } from '../../plan/environments';
import { operatorIdentity } from '../../git/approvals';
import { userName } from '../../git/git';
import { headCommit } from '../../git/gate';
import { approvalVerdict, freezeVerdict, promotionVerdict } from './environmentGates';
import type { EnvGateVerdict } from './gateVerdict';
import { releaseTreeChanges, treeVerdict } from './treeGate';
import { uncommittedGatedPlan } from './committedPlan';
import { planHash } from './planIdentity';
import { inputsNow } from '../run/runInputs';

/** An environment's gates judged outside a run: what a release of `version` from HEAD and this tree, started now by this person, would meet. */
export interface GatesNow {
  environment: string;
  version: string;
  /** HEAD, the commit a release started now would deploy. */
  commit?: string;
  /** Who would start it: git's user.name here (the approval gate refuses their own approvals). */
  operator: string;
  at: string;
  verdicts: EnvGateVerdict[];
}

/**
 * The working tree, freeze, promotion and approval gates of `plan`'s environment (a plan resolved for it) as a
 * run started now with `vars` and this process's environment would judge them, nothing journaled and no freeze override or tree waiver assumed.
 * Approvals are matched to the plan's text: without it they are left out. Undefined: the environment has no gates.
 */
export async function judgeEnvironmentGates(
  workspace: string,
  plan: Plan,
  version: string,
  o: { planText?: string; planRel?: string; now?: number; vars?: Readonly<Record<string, string>> } = {},
): Promise<Omit<GatesNow, 'environment' | 'version' | 'at'> | undefined> {
  const env = currentEnvironment(plan);
  if (!env) return undefined;
  const now = o.now ?? Date.now();
  const commit = await headCommit(workspace);
  const operator = (await userName(workspace)) ?? os.userInfo().username;
  const hash = o.planText !== undefined ? planHash(o.planText) : undefined;
  const inputs = inputsNow(plan, o.planText ?? '', o.vars ?? {}, process.env);
  const verdicts: EnvGateVerdict[] = [];
  const tree = commit
    ? treeVerdict(
        await releaseTreeChanges(workspace, o.planRel === undefined || !hasGates(env) ? undefined : path.resolve(workspace, o.planRel)),
        hasGates(env),
      )
    : undefined;
  if (tree) verdicts.push(tree);
  const freeze = freezeVerdict(env, now, undefined);
  if (freeze) verdicts.push(freeze);
  if (env.requires) {
    const current = hash && o.planRel ? { plan: o.planRel, planHash: hash } : undefined;
    verdicts.push(promotionVerdict(workspace, plan, env.requires, { version, commit, inputs }, now, current));
  }
  if (env.approvals && hash !== undefined) {
    const subject = { environment: plan.release.environment, version, commit, planHash: hash, inputs };
    verdicts.push(await approvalVerdict(workspace, env.approvals, subject, await operatorIdentity(workspace, operator)));
  }
  return { ...(commit ? { commit } : {}), operator, verdicts };
}

/**
 * The gates of `environment` for the views (after an approval, or on Refresh): an approval given or
 * fetched since the last run shows at once. A plan that is not the committed one blocks every gate,
 * as a release refuses it. Undefined when the environment declares no gate. The run judges again.
 */
export async function gatesNow(
  workspace: string,
  planFile: string,
  plan: Plan,
  planText: string,
  environment: string,
  version: string,
  now = Date.now(),
): Promise<GatesNow | undefined> {
  const resolved = planForEnvironment(plan, environment);
  if (!resolved.ok) return undefined;
  const env = currentEnvironment(resolved.plan);
  if (!hasGates(env)) return undefined;
  const judged = await judgeEnvironmentGates(workspace, resolved.plan, version, { planText, planRel: path.relative(workspace, planFile) || planFile, now });
  if (!judged) return undefined;
  const base = { environment: resolved.plan.release.environment, version, at: new Date(now).toISOString(), ...judged };
  const uncommitted = await uncommittedGatedPlan(workspace, planFile, plan, planText);
  return uncommitted ? { ...base, verdicts: judged.verdicts.map((v) => ({ gate: v.gate, state: 'blocked', message: uncommitted })) } : base;
}
