import valid from 'semver/functions/valid';
import type { Plan } from '../core/model/schema';
import { currentEnvironment } from '../core/plan/environments';
import { recordApproval } from '../core/git/approvals';
import { planHash } from '../core/engine/gates/planIdentity';
import { uncommittedGatedPlan } from '../core/engine/gates/committedPlan';
import { resolveVersion } from '../core/engine/queries/releaseFacts';
import { secretSources } from '../core/engine/gates/secrets';
import { SecretMasker } from '../core/exec/mask';
import { inputsNow } from '../core/engine/run/runInputs';
import { inputEntries } from '../core/base/inputs';
import { EXIT, type CliOptions } from './args';
import type { Io } from './io';

/**
 * `approve VERSION --env ENV [--var NAME=VALUE]…`: an annotated (signed, when the environment asks) tag on HEAD by the
 * person running it, for this plan and exactly these inputs: the `--var` flags and the values of the `${env:NAME}` the
 * plan reads in the approver's environment (a release given other ones does not count it).
 */
export async function approveCommand(
  version: string | undefined,
  o: CliOptions,
  p: { plan: Plan; planText: string; planFile: string; workspace: string; vars: Record<string, string> },
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
  // An approval of a version this plan does not release opens nothing, and says yes to a release nobody reviewed yet.
  const planned = await resolveVersion(p.workspace, p.plan);
  if (!planned.ok || planned.version !== v) {
    const which =
      p.plan.release.version === 'auto'
        ? `version auto, which resolves to ${planned.ok ? planned.version : `nothing here (${planned.message})`}`
        : `version ${p.plan.release.version.replace(/^v/, '')}`;
    io.err(`release-pilot: ${p.planFile} releases ${p.plan.release.name} ${which}, not ${v}: approve the version this plan releases`);
    return EXIT.usage;
  }
  // The tag is pushed for everyone to read: a secret's value in the comment would be published with it.
  const comment = o.comment?.replace(/\s+/g, ' ');
  const leaked = comment
    ? secretSources(p.planText, p.plan, process.env).filter(
        (x) => new SecretMasker([x.value]).mask(comment) !== comment || new SecretMasker([x.value]).mask(o.comment!) !== o.comment,
      )
    : [];
  if (leaked.length) {
    io.err(
      `release-pilot: the comment holds the value of ${leaked.map((x) => x.name).join(', ')} (a secret of the plan); the approval tag is pushed and read by all, so nothing was recorded: write the comment without it`,
    );
    return EXIT.usage;
  }
  const env = currentEnvironment(p.plan);
  if (!env?.approvals) io.err(`note: ${p.plan.release.environment} asks for no approvals; the approval is recorded anyway`);
  const inputs = inputsNow(p.plan, p.planText, p.vars, process.env);
  try {
    const r = await recordApproval(p.workspace, {
      environment: p.plan.release.environment,
      version: v,
      planHash: planHash(p.planText),
      inputs,
      comment: o.comment,
      sign: Boolean(env?.approvals?.signed),
    });
    const given = inputEntries(inputs).map(([n]) => n);
    io.out(
      `approved ${p.plan.release.name} ${v} to ${p.plan.release.environment} at ${r.commit.slice(0, 12)} as ${r.approver.name} <${r.approver.email}>${given.length ? `, for a release given ${given.join(', ')} with these values` : ''}: tag ${r.tag}\nshare it: git push origin refs/tags/${r.tag}`,
    );
    return 0;
  } catch (e) {
    io.err(`release-pilot: ${(e as Error).message}`);
    return EXIT.failed;
  }
}
