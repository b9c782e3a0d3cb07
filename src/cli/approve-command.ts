import valid from 'semver/functions/valid';
import type { Plan } from '../core/plan/schema';
import { currentEnvironment } from '../core/plan/environments';
import { recordApproval } from '../core/git/approvals';
import { planHash } from '../core/engine/runOpen';
import { uncommittedGatedPlan } from '../core/engine/committedPlan';
import { EXIT, type CliOptions } from './args';
import type { Io } from './io';

/** `approve VERSION --env ENV`: an annotated (signed, when the environment asks) tag on HEAD by the person running it. */
export async function approveCommand(
  version: string | undefined,
  o: CliOptions,
  p: { plan: Plan; planText: string; planFile: string; workspace: string },
  io: Io,
): Promise<number> {
  const v = version?.replace(/^v/, '');
  if (!v || valid(v) !== v) {
    io.err(`release-pilot: approve takes the version it approves (release-pilot approve 1.4.0 --env production), got ${JSON.stringify(version ?? '')}`);
    return EXIT.usage;
  }
  // An approval binds the plan's hash; the release reads its gates from the committed plan, so approve that one.
  const uncommitted = await uncommittedGatedPlan(p.workspace, p.planFile, p.plan, p.planText);
  if (uncommitted) {
    io.err(`release-pilot: ${uncommitted.replace('then release again', 'then approve again')}`);
    return EXIT.failed;
  }
  const env = currentEnvironment(p.plan);
  if (!env?.approvals) io.err(`note: ${p.plan.release.environment} asks for no approvals; the approval is recorded anyway`);
  try {
    const r = await recordApproval(p.workspace, {
      environment: p.plan.release.environment,
      version: v,
      planHash: planHash(p.planText),
      comment: o.comment,
      sign: Boolean(env?.approvals?.signed),
    });
    io.out(
      `approved ${p.plan.release.name} ${v} to ${p.plan.release.environment} at ${r.commit.slice(0, 12)} as ${r.approver.name} <${r.approver.email}>: tag ${r.tag}\nshare it: git push origin refs/tags/${r.tag}`,
    );
    return 0;
  } catch (e) {
    io.err(`release-pilot: ${(e as Error).message}`);
    return EXIT.failed;
  }
}
