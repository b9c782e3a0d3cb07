import type { Environment } from '../../plan/environments';
import { currentEnvironment, freezeAt } from '../../plan/environments';
import type { Plan } from '../../model/schema';
import { normalEmail, operatorIdentity, readApprovals, type ApprovalRead, type Operator } from '../../git/approvals';
import { signingKeyIdentity, type KeyIdentity } from '../../git/signers';
import { inputEntries, inputsDiff, inputsDigest, inputValue, type DecidingInputs } from '../../base/inputs';
import { reasonText, treeGate } from './treeGate';
import { REASON_RULE } from './writtenReason';
import { loadRun, runIds } from '../queries/runs';
import { planHash } from './planIdentity';
import type { RunContext } from '../run/context';
import type { EnvGateVerdict } from './gateVerdict';
import { sameName } from '../../model/names';
import { transition } from '../../model/statusTransitions';

/** An age in the largest unit that does not round it to 0: a limit of 30 s is not "0 h". */
export const dayText = (ms: number) =>
  ms >= 86_400_000
    ? `${+(ms / 86_400_000).toFixed(1)} d`
    : ms >= 3_600_000
      ? `${+(ms / 3_600_000).toFixed(1)} h`
      : ms >= 60_000
        ? `${+(ms / 60_000).toFixed(1)} min`
        : ms >= 1000
          ? `${+(ms / 1000).toFixed(1)} s`
          : `${+ms.toPrecision(3)} ms`;

export function freezeVerdict(env: Environment, now: number, override: string | undefined, by = 'someone'): EnvGateVerdict | undefined {
  if (!env.freeze.length) return undefined;
  const w = freezeAt(env, now);
  if (!w) return { gate: 'freeze', state: 'open', message: `no freeze now (${env.freeze.length} window(s) declared)` };
  // Blank once the invisible characters (zero-width spaces and joiners, BOM, word joiner) are taken out.
  const reason = reasonText(override);
  if (reason)
    return { gate: 'freeze', state: 'open', message: `freeze ${w.from} – ${w.to} (${w.reason}) overridden by ${by}: ${reason}`, override: { by, reason } };
  return {
    gate: 'freeze',
    state: 'blocked',
    message: `releases are frozen from ${w.from} to ${w.to}: ${w.reason}${override !== undefined ? `; an override needs a written reason (${REASON_RULE})` : '; to release anyway, give a reason (--override-freeze REASON)'}`,
  };
}

/** The run that promotes this release: same service, version and commit, released to `requires.released` and watched to the end. */
export function promotionVerdict(
  workspace: string,
  plan: Plan,
  req: NonNullable<Environment['requires']>,
  release: { version: string; commit?: string; inputs?: DecidingInputs },
  now: number,
  current?: { plan: string; planHash: string },
): EnvGateVerdict {
  const blocked = (message: string): EnvGateVerdict => ({ gate: 'promotion', state: 'blocked', message });
  if (!release.commit) return blocked(`promotion from ${req.released} needs a git repository: the commit tells a release apart`);
  const seen: string[] = [];
  for (const id of runIds(workspace)) {
    let s: ReturnType<typeof loadRun>['state'];
    let startedHash: string | undefined;
    try {
      const run = loadRun(workspace, id);
      s = run.state;
      const started = run.events.find((e) => e.type === 'release.started');
      startedHash = started?.type === 'release.started' ? started.planHash : undefined;
    } catch {
      continue;
    }
    if (!s.runId || !sameName(s.environment, req.released) || !sameName(s.name, plan.release.name) || s.version !== release.version) continue;
    if (s.commit !== release.commit) {
      seen.push(`run ${id} released commit ${s.commit?.slice(0, 12) ?? '(none)'}`);
      continue;
    }
    // A run from a changed working tree released something that commit does not hold; a journal that does not
    // say (written before the tree was recorded, or by hand without it) cannot stand for the commit either.
    if (s.clean !== true) {
      seen.push(`run ${id} ${s.clean === false ? 'started from a working tree with uncommitted changes' : 'does not record that its working tree was clean'}`);
      continue;
    }
    const monitoring = s.phases.find((p) => p.id === 'monitoring')?.state;
    if (s.rollbacks.length) {
      seen.push(`run ${id} was rolled back (${s.rollback?.outcome ?? 'under way'})`);
      continue;
    }
    if (s.status !== 'released' || s.outcome !== 'released') {
      seen.push(`run ${id} is ${s.status}`);
      continue;
    }
    if (monitoring !== 'passed') {
      seen.push(`run ${id} ended released but its monitoring ${monitoring === 'skipped' ? 'was skipped' : `is ${monitoring}`}`);
      continue;
    }
    // The phase passes when nothing failed; a metric that could not be judged (no usable sample) watched nothing.
    const unjudged = Object.values(s.metrics).filter((m) => m.verdict?.verdict !== 'pass');
    if (unjudged.length) {
      const why = unjudged.map((m) => `${m.id}: ${m.verdict ? m.verdict.explanation.replace(/^.*?inconclusive: /, '') : 'no verdict'}`).join('; ');
      seen.push(`run ${id} ended released but its monitoring was inconclusive, not passed (${why})`);
      continue;
    }
    const age = now - Date.parse(s.finishedAt ?? '');
    if (!(age >= 0)) {
      seen.push(`run ${id} has no usable end time (${s.finishedAt ?? 'none'})`);
      continue;
    }
    if (age > req.maxAge) {
      seen.push(`run ${id} ended ${dayText(age)} ago, over the limit of ${dayText(req.maxAge)}`);
      continue;
    }
    // Evidence for the same inputs only: `--var` overrides and `${env:…}` values (a plan's per-environment variables are plan values, not inputs).
    const differ = inputsDiff(s.inputs, release.inputs, [`run ${id} had`, 'this release has']);
    if (differ.length) {
      seen.push(`run ${id} was released with other inputs (${differ.join('; ')})`);
      continue;
    }
    return {
      gate: 'promotion',
      state: 'open',
      message: `${release.version} at ${release.commit.slice(0, 12)} was released to ${s.environment} in run ${id} (${s.finishedAt}, monitoring passed)${planText({ plan: s.plan, planHash: startedHash }, current)}`,
    };
  }
  return blocked(
    `no released ${req.released} run of ${plan.release.name} ${release.version} at commit ${release.commit.slice(0, 12)} whose monitoring passed within ${dayText(req.maxAge)}${seen.length ? `: ${seen.slice(0, 4).join('; ')}` : ''}`,
  );
}

/** Which plan the staging run used: a reviewer sees when it was another file, or the same file as it was then. */
function planText(s: { plan: string; planHash?: string }, current?: { plan: string; planHash: string }): string {
  const used = s.plan || '(no plan recorded)';
  if (!current) return `, with plan ${used}`;
  const samePath = s.plan.replace(/\\/g, '/') === current.plan.replace(/\\/g, '/');
  const sameHash = s.planHash === current.planHash;
  if (samePath && sameHash) return `, with this plan (${used})`;
  if (samePath) return `, with plan ${used} as it was then (its hash differs from this plan's)`;
  return `, with ANOTHER plan: ${used}${sameHash ? ' (same content as this plan)' : ` (its hash differs from this plan's, ${current.plan})`}`;
}

/**
 * Who approved, judged: the tags that count and, for those that do not, why. The one place approvals are counted:
 * per signing key (a key with two user IDs, or listed under two principals, is one approver) and per email, and
 * never with a key of the operator: their `user.signingkey`, or any key that carries one of their emails.
 */
export function judgeApprovals(
  reads: readonly ApprovalRead[],
  rule: NonNullable<Environment['approvals']>,
  operator: { name: string; email?: string } & Partial<KeyIdentity>,
): { counted: ApprovalRead[]; refused: string[] } {
  // An entry with an @ is an email and matches the approver's email only (a user.name set to
  // someone's address is not that person); one without matches the approver's name.
  // With signatures required, who approved is the identity the signature proved (the allowed signer's principal, the
  // certified gpg user ID's email): a name proves nothing, since anyone may set user.name, so it never matches.
  const mayApprove = (a: { name: string; email: string }, r: ApprovalRead) =>
    rule.from.length === 0 ||
    rule.from.some((f) =>
      rule.signed
        ? f.includes('@') && normalEmail(f) === normalEmail(r.signedBy ?? '')
        : f.includes('@')
          ? normalEmail(f) === normalEmail(a.email)
          : sameName(f, a.name),
    );
  const operatorEmails = new Set([operator.email, ...(operator.emails ?? [])].filter((e): e is string => e !== undefined).map(normalEmail));
  const operatorKeys = new Set((operator.keys ?? []).map((k) => k.toUpperCase()));
  const counted: ApprovalRead[] = [];
  const refused: string[] = [];
  const seen = new Set<string>();
  const keysCounted = new Map<string, string>();
  for (const r of reads) {
    const who = r.approver ? normalEmail(r.approver.email) : '';
    const key = r.key?.toUpperCase();
    const operatorUid = (r.keyEmails ?? []).find((e) => operatorEmails.has(normalEmail(e)));
    const why =
      r.invalid ??
      (operatorEmails.has(who)
        ? 'the approver is the person starting the release'
        : sameName(r.approver!.name, operator.name)
          ? 'the approver has the name of the person starting the release'
          : rule.signed && !r.signed
            ? 'unsigned, and this environment needs signed approvals'
            : rule.signed && normalEmail(r.signedBy ?? '') !== who
              ? `signed by ${r.signedBy}, not by the approver ${r.approver!.email}`
              : key !== undefined && operatorKeys.has(key)
                ? `signed with the key of the person starting the release (${r.key})`
                : operatorUid !== undefined
                  ? `signed with the key ${r.key}, which carries a user ID of the person starting the release (${operatorUid})`
                  : !mayApprove(r.approver!, r)
                    ? `${rule.signed ? `${r.signedBy} (the signer)` : r.approver!.email} is not among those who may approve (${rule.from.join(', ')})${rule.signed && rule.from.some((f) => !f.includes('@')) ? '; with signed approvals, from lists emails: a name proves nothing' : ''}`
                    : key !== undefined && keysCounted.has(key)
                      ? `signed with the key ${r.key}, which already counted for ${keysCounted.get(key)}: one key is one approver, whatever user IDs it carries`
                      : seen.has(who)
                        ? undefined
                        : '');
    if (why === undefined) continue;
    if (why) refused.push(`${r.tag}: ${why}`);
    else {
      seen.add(who);
      if (key !== undefined) keysCounted.set(key, r.tag);
      counted.push(r);
    }
  }
  return { counted, refused };
}

export async function approvalVerdict(
  workspace: string,
  rule: NonNullable<Environment['approvals']>,
  subject: { environment: string; version: string; commit?: string; planHash: string; inputs?: DecidingInputs },
  operator: Operator,
): Promise<EnvGateVerdict> {
  if (!subject.commit) return { gate: 'approval', state: 'blocked', message: 'approvals need a git repository: they are tags on the release commit' };
  const reads = await readApprovals(workspace, { ...subject, commit: subject.commit });
  const { counted, refused } = judgeApprovals(reads, rule, { ...operator, ...(await signingKeyIdentity(workspace, operator.signingKey)) });
  const names = counted.map((r) => `${r.approver!.name} <${r.approver!.email}>${r.signedBy ? ' (signed)' : ''}${r.at ? ` at ${r.at}` : ''}`);
  const approvals = counted.map((r) => ({ tag: r.tag, approver: `${r.approver!.name} <${r.approver!.email}>`, ...(r.key ? { key: r.key } : {}) }));
  const given = inputEntries(subject.inputs).map(([n]) => n);
  const inputs = given.length ? `, for the run inputs ${given.join(', ')} (sha256 ${inputsDigest(subject.inputs).slice(0, 12)})` : '';
  const overrides = Object.keys(subject.inputs?.overrides ?? {}).sort();
  if (counted.length >= rule.count) return { gate: 'approval', state: 'open', message: `approved by ${names.join(', ')}${inputs}`, approvals };
  const again = `release-pilot approve ${subject.version} --env ${subject.environment}${overrides.map((n) => ` --var ${n}=…`).join('')}`;
  return {
    gate: 'approval',
    state: 'blocked',
    ...(approvals.length ? { approvals } : {}),
    message: `${counted.length} of ${rule.count} approval(s) for ${subject.version} to ${subject.environment} at ${subject.commit.slice(0, 12)}${names.length ? ` (${names.join(', ')})` : ''}; ask another person to run: ${again}${refused.length ? `. Not counted: ${refused.join('; ')}` : ''}`,
  };
}

/** The working tree, then freeze, promotion, approvals: the gates an environment declares, each journaled; false (aborted) at the first that blocks. */
export async function environmentGates(c: RunContext): Promise<boolean> {
  const env = currentEnvironment(c.o.plan);
  // The working tree first: every other gate is judged for the commit, which a changed tree is not.
  if (!(await treeGate(c, env, (message) => blockedAt(c, message)))) return false;
  if (!env) return true;
  const now = c.clock.now();
  const verdicts: (() => Promise<EnvGateVerdict | undefined>)[] = [
    async () => {
      const earlier = c.o.overrideFreeze === undefined ? earlierOverride(c) : undefined;
      return earlier ? freezeVerdict(env, now, earlier.reason, earlier.by) : freezeVerdict(env, now, c.o.overrideFreeze, c.user);
    },
    async () =>
      env.requires
        ? promotionVerdict(c.o.workspace, c.o.plan, env.requires, { ...c.state, inputs: runInputs(c) }, now, {
            plan: c.state.plan,
            planHash: planHash(c.o.planText),
          })
        : undefined,
    async () => {
      if (!env.approvals) return undefined;
      const subject = {
        environment: c.o.plan.release.environment,
        version: c.state.version,
        commit: c.state.commit,
        planHash: planHash(c.o.planText),
        inputs: runInputs(c),
      };
      return approvalVerdict(c.o.workspace, env.approvals, subject, await operatorIdentity(c.o.workspace, c.user));
    },
  ];
  for (const next of verdicts) {
    c.stopLatch.throwIfStopped();
    const v = await next();
    if (!v) continue;
    const { gate, state, message, approvals, override } = v;
    c.append({ type: 'gate.changed', gate, state, message, ...(approvals ? { approvals } : {}), ...(override ? { override } : {}) });
    if (v.state === 'blocked') return blockedAt(c, `${v.gate} gate: ${v.message}`);
  }
  return true;
}

/** The inputs this run decides what ships with: those it journaled at its start (a resume goes on with the same), or, for a journal from before they were kept, its `--var` overrides. */
function runInputs(c: RunContext): DecidingInputs {
  if (c.state.inputs) return c.state.inputs;
  return { overrides: Object.fromEntries(Object.entries(c.o.vars ?? {}).map(([k, v]) => [k, inputValue(v, c.holdsSecret)])) };
}

/** The freeze override this run journaled before (a resume keeps it, for the run it was given for). */
function earlierOverride(c: RunContext): { by: string; reason: string } | undefined {
  const e = [...c.events].reverse().find((x) => x.type === 'gate.changed' && x.gate === 'freeze' && x.override !== undefined);
  return e?.type === 'gate.changed' ? e.override : undefined;
}

/**
 * A new run ends at a blocked gate. A resumed one has run steps (production may be half deployed), so it
 * pauses instead: it resumes once the gate opens, or is rolled back or abandoned.
 */
function blockedAt(c: RunContext, message: string): boolean {
  if (!c.reopened) return c.abort(message);
  transition(c, 'release.paused', { message: `${message}; resume once it is open, or roll back or abandon this run` });
  c.log.info(message);
  return false;
}
