import * as crypto from 'node:crypto';
import { git, gitResult, GitError } from './git';
import { inputEntries, inputsDigest, type DecidingInputs } from '../base/inputs';
import { allowedSignerPrincipals, configuredSigningKey, pgpKeys, type PgpUid } from './signers';
export { uidEmail } from './signers';

/**
 * Approvals are annotated tags on the release commit, `release-pilot/approval/<env>/<version>/<approver>-<subject>`:
 * they travel with `git push --tags` / `git fetch --tags`, and git signs and verifies them. What counts is what the
 * tag object says (its tagger, its target, its message), never the tag's name, which anyone can give any object.
 */
export const APPROVAL_REF = 'refs/tags/release-pilot/approval';
const HEADER = 'release-pilot approval';

/** An email as approvals compare it: without surrounding blanks and case. */
export const normalEmail = (email: string) => email.trim().toLowerCase();
const sha = (text: string) => crypto.createHash('sha256').update(text).digest('hex');
const envKey = (env: string) => env.trim().toLowerCase();

export const approvalPrefix = (env: string, version: string) => `${APPROVAL_REF}/${envKey(env)}/${version}/`;

export interface ApprovalSubject {
  environment: string;
  version: string;
  commit: string;
  planHash: string;
  /** The inputs that decide what ships (`--var` overrides, `${env:…}` values): an approval holds for exactly these (none when absent). */
  inputs?: DecidingInputs;
}

export interface Identity {
  name: string;
  email: string;
}

/** Who git says commits and tags here (user.name and user.email, or GIT_COMMITTER_* over them), or why nobody. */
export async function gitIdentity(cwd: string): Promise<Identity | { error: string }> {
  const r = await gitResult(cwd, ['var', 'GIT_COMMITTER_IDENT']);
  const m = /^(.*) <([^>]*)> \d+ [+-]\d{4}$/.exec(r.stdout.trim());
  if (r.exitCode !== 0 || !m || !m[2].trim())
    return { error: 'git knows no user.email here: an approval names its approver by it (git config user.email you@example.com)' };
  return { name: m[1] || m[2], email: m[2] };
}

/** Who starts a release, for the approval gate: git's user.name (or the login), user.email and user.signingkey. */
export interface Operator {
  name: string;
  email?: string;
  /** `user.signingkey`: every key it names, and every identity of those keys, is the operator's. */
  signingKey?: string;
}

/** The operator as git here knows them; `name` is who the run journals. */
export async function operatorIdentity(cwd: string, name: string): Promise<Operator> {
  const id = await gitIdentity(cwd);
  const signingKey = await configuredSigningKey(cwd);
  return { name, ...('email' in id ? { email: id.email } : {}), ...(signingKey ? { signingKey } : {}) };
}

/** Writes an approval tag for HEAD; signed with the user's key (`git tag -s`) when `sign`. Returns the tag's name. */
export async function recordApproval(
  cwd: string,
  s: Omit<ApprovalSubject, 'commit'> & { comment?: string; sign: boolean; now?: Date },
): Promise<{ tag: string; commit: string; approver: Identity }> {
  const who = await gitIdentity(cwd);
  if ('error' in who) throw new GitError(who.error);
  const commit = await git(cwd, ['rev-parse', 'HEAD']);
  const entries = inputEntries(s.inputs);
  const digest = inputsDigest(s.inputs);
  // Approvals of other inputs by the same person are other tags; without inputs the name is as it always was.
  const bound = `${commit}\n${s.planHash}${entries.length ? `\n${digest}` : ''}`;
  const name = `${approvalPrefix(s.environment, s.version).slice('refs/tags/'.length)}${sha(normalEmail(who.email)).slice(0, 12)}-${sha(bound).slice(0, 8)}`;
  const exists = await gitResult(cwd, ['rev-parse', '-q', '--verify', `refs/tags/${name}`]);
  if (exists.exitCode === 0) throw new GitError(`${who.email} already approved ${s.version} for ${s.environment} at this commit and plan (tag ${name})`);
  const comment = s.comment?.replace(/\s+/g, ' ').trim();
  const message = [
    HEADER,
    `environment: ${envKey(s.environment)}`,
    `version: ${s.version}`,
    `commit: ${commit}`,
    `plan: ${s.planHash}`,
    `inputs: ${digest}`,
    ...(entries.length ? [`overrides: ${entries.map(([n]) => n).join(', ')}`, `values: ${shownValues(entries)}`] : []),
    `approver: ${who.name} <${who.email}>`,
    `at: ${(s.now ?? new Date()).toISOString()}`,
    ...(comment ? [`comment: ${comment}`] : []),
  ].join('\n');
  await git(cwd, ['tag', s.sign ? '-s' : '-a', '-m', message, name, commit]);
  return { tag: name, commit, approver: who };
}

/** One approval tag as read and checked against the release. */
export interface ApprovalRead {
  tag: string;
  /** The tagger, who git says wrote the tag. */
  approver?: Identity;
  at?: string;
  comment?: string;
  /** The principal a trusted signature names, when the tag is signed and git verified it. */
  signedBy?: string;
  /** The key that signature was verified with, as approvals are counted: SSH `SHA256:…`, the OpenPGP primary key's fingerprint. */
  key?: string;
  /** Every email that key carries: all its OpenPGP user IDs (certified or not), all its allowed-signers principals. */
  keyEmails?: string[];
  signed: boolean;
  /** Why it does not approve this release; absent when it does (before who may approve is judged). */
  invalid?: string;
}

/** Every approval tag of this environment and version, each judged against the release's version, commit and plan. */
export async function readApprovals(cwd: string, subject: ApprovalSubject): Promise<ApprovalRead[]> {
  const out = await git(cwd, ['for-each-ref', '--format=%(refname)%00%(objecttype)%00%(objectname)', approvalPrefix(subject.environment, subject.version)]);
  const reads: ApprovalRead[] = [];
  // The release commit's date, read once: a tag dated before it is backdated.
  let committedAt: number | undefined;
  let principals: Map<string, string[]> | undefined;
  for (const line of out.split('\n').filter(Boolean)) {
    const [ref, type, object] = line.split('\0');
    const tag = ref.slice('refs/tags/'.length);
    if (type !== 'tag') {
      reads.push({ tag, signed: false, invalid: 'a lightweight tag: it records no approver, time or signature' });
      continue;
    }
    committedAt ??= Number((await git(cwd, ['show', '-s', '--format=%ct', subject.commit])).trim());
    principals ??= await allowedSignerPrincipals(cwd);
    reads.push(await readApproval(cwd, tag, object, subject, committedAt, principals));
  }
  return reads;
}

async function readApproval(
  cwd: string,
  tag: string,
  object: string,
  subject: ApprovalSubject,
  committedAt: number,
  principals: Map<string, string[]>,
): Promise<ApprovalRead> {
  const raw = await git(cwd, ['cat-file', 'tag', object]);
  const headerEnd = raw.indexOf('\n\n');
  const headers = new Map(
    raw
      .slice(0, headerEnd)
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const),
  );
  const body = raw.slice(headerEnd + 2);
  const sigAt = body.search(/^-----BEGIN (SSH|PGP) SIGNATURE-----/m);
  const signed = sigAt >= 0;
  const message = signed ? body.slice(0, sigAt) : body;
  const fields = new Map<string, string>();
  const lines = message.split('\n');
  for (const l of lines.slice(1)) {
    const i = l.indexOf(': ');
    if (i > 0 && !fields.has(l.slice(0, i))) fields.set(l.slice(0, i), l.slice(i + 2));
  }
  const tagger = /^(.*) <([^>]*)> (\d+) [+-]\d{4}$/.exec(headers.get('tagger') ?? '');
  const approver = tagger ? { name: tagger[1], email: tagger[2] } : undefined;
  const base: ApprovalRead = {
    tag,
    signed,
    ...(approver ? { approver } : {}),
    ...(fields.get('at') ? { at: fields.get('at') } : {}),
    ...(fields.get('comment') ? { comment: fields.get('comment') } : {}),
  };
  const wrong = (invalid: string): ApprovalRead => ({ ...base, invalid });
  if (lines[0] !== HEADER) return wrong('not a release-pilot approval (its message does not start with "release-pilot approval")');
  if (headers.get('tag') !== tag) return wrong(`the tag object is named ${JSON.stringify(headers.get('tag'))}: a tag renamed or copied from elsewhere`);
  if (headers.get('type') !== 'commit' || headers.get('object') !== subject.commit)
    return wrong(`it approves commit ${headers.get('object')?.slice(0, 12)}, not the release commit ${subject.commit.slice(0, 12)}`);
  if (fields.get('commit') !== subject.commit) return wrong('its message names another commit than the one it is on');
  if (fields.get('environment') !== envKey(subject.environment)) return wrong(`it approves environment ${JSON.stringify(fields.get('environment'))}`);
  if (fields.get('version') !== subject.version) return wrong(`it approves version ${JSON.stringify(fields.get('version'))}`);
  if (fields.get('plan') !== subject.planHash) return wrong('the plan changed since the approval (its hash differs)');
  const otherInputs = inputsProblem(fields, subject.inputs);
  if (otherInputs) return wrong(otherInputs);
  if (!approver) return wrong('the tag has no tagger');
  // git checks a key's validity (valid-after, valid-before) at the tag's own date, which its writer sets.
  const taggedAt = Number(tagger![3]);
  if (taggedAt < committedAt)
    return wrong(
      `it is dated ${new Date(taggedAt * 1000).toISOString()}, before the commit it approves (${new Date(committedAt * 1000).toISOString()}): a backdated tag`,
    );
  if (taggedAt * 1000 > Date.now() + 5 * 60_000) return wrong(`it is dated ${new Date(taggedAt * 1000).toISOString()}, in the future`);
  if (fields.get('approver') !== `${approver.name} <${approver.email}>`) return wrong('its message names another approver than its tagger');
  if (/[^\x21-\x7e]/.test(approver.email.trim()))
    return wrong(`the approver's email ${JSON.stringify(approver.email)} has characters outside plain ASCII (a look-alike of another address)`);
  if (!signed) return base;
  const v = await gitResult(cwd, ['verify-tag', '--raw', object]);
  const said = `${v.stdout}\n${v.stderr}`;
  const principal = /Good "git" signature for (\S+) with/.exec(said)?.[1] ?? /GOODSIG [0-9A-F]+ .*<([^>]+)>/.exec(said)?.[1];
  if (v.exitCode !== 0 || !principal) return wrong(`its signature does not verify: ${said.trim().split('\n')[0] || `git verify-tag exit code ${v.exitCode}`}`);
  // git accepts a good OpenPGP signature by any key in the keyring; trusted, as SSH's allowed signers are, is what counts.
  const pgpTrust = /^\[GNUPG:\] TRUST_(\w+)/m.exec(said)?.[1];
  if (/^\[GNUPG:\] GOODSIG/m.test(said) && pgpTrust !== 'FULLY' && pgpTrust !== 'ULTIMATE')
    return wrong(`signed with an OpenPGP key gpg does not trust (trust ${pgpTrust?.toLowerCase() ?? 'unknown'}): sign its key, or set its owner trust`);
  const sshKey = /with \S+ key (SHA256:[A-Za-z0-9+/=]+)/.exec(said)?.[1];
  if (/^\[GNUPG:\] GOODSIG/m.test(said)) {
    // Approvals are counted per primary key: a subkey signs for the key it belongs to.
    const primary = /^\[GNUPG:\] VALIDSIG (?:\S+ ){9}([0-9A-F]{32,64})/m.exec(said)?.[1] ?? /VALIDSIG ([0-9A-F]{32,64})/.exec(said)?.[1];
    if (!primary) return wrong('gpg named no key fingerprint (VALIDSIG)');
    const listed = await pgpKeys(cwd, primary);
    if ('error' in listed) return wrong(`gpg could not list the key ${primary} that signed it: ${listed.error}`);
    const uids = listed.keys.find((k) => k.fingerprint === primary)?.uids ?? [];
    const signer = { key: primary, keyEmails: uids.flatMap((u) => (u.email ? [u.email] : [])) };
    // TRUST_* rates the key, and any user ID its holder adds to it rides along: only a user ID with the approver's
    // email that gpg itself holds valid (certified) says the key is the approver's.
    const why = pgpUidProblem(primary, uids, approver.email);
    // A key with no user ID of the approver at all: judged as signed by whom gpg says (another person than the approver).
    if (why === NO_UID && normalEmail(principal) !== normalEmail(approver.email)) return { ...base, signedBy: principal, ...signer };
    if (why) return wrong(why === NO_UID ? `signed with the OpenPGP key ${primary}, which has no user ID with the approver's email ${approver.email}` : why);
    return { ...base, signedBy: approver.email, ...signer };
  }
  return { ...base, signedBy: principal, ...(sshKey ? { key: sshKey, keyEmails: [...new Set([principal, ...(principals.get(sshKey) ?? [])])] } : {}) };
}

/**
 * The approved inputs as the tag shows them, for a message to name those that differ: a value as it is, a
 * secret as null (the tag is pushed and read by all: not even its hash, which a short secret would give away).
 */
const shownValues = (entries: ReturnType<typeof inputEntries>) =>
  JSON.stringify(Object.fromEntries(entries.map(([n, v]) => [n, 'value' in v ? v.value : null])));

/** Why the approval's inputs are not the release's, naming the inputs that differ; undefined when they are the same. */
function inputsProblem(fields: Map<string, string>, inputs: DecidingInputs | undefined): string | undefined {
  // An approval written before approvals named inputs was given without --var: `approve` had no such flag.
  const approved = fields.get('inputs') ?? inputsDigest(undefined);
  if (approved === inputsDigest(inputs)) return undefined;
  let shown: Record<string, string | null> = {};
  try {
    const parsed: unknown = JSON.parse(fields.get('values') ?? '{}');
    if (parsed && typeof parsed === 'object') shown = parsed as Record<string, string | null>;
  } catch {
    // A tag without readable values names the inputs from its list alone.
  }
  const listed = new Set(
    (fields.get('overrides') ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean)
      .map((n) => (n.startsWith('--var ') || n.startsWith('${env:') ? n : `--var ${n}`)),
  );
  const now = new Map(inputEntries(inputs));
  const names = [...new Set([...listed, ...Object.keys(shown), ...now.keys()])].sort();
  const text = (v: string | null | undefined) => (v === undefined ? 'unset' : v === null ? 'a secret' : JSON.stringify(v));
  const differ = names.flatMap((n) => {
    const was = listed.has(n) || n in shown ? (n in shown ? shown[n] : null) : undefined;
    const v = now.get(n);
    const is = v === undefined ? undefined : 'value' in v ? v.value : null;
    if (was !== undefined && is !== undefined && was !== null && is !== null && was === is) return [];
    return [`${n} (approved ${text(was)}, this release ${text(is)})`];
  });
  const approvedVars = [...listed].filter((n) => n.startsWith('--var ')).map((n) => n.slice('--var '.length));
  const givenVars = Object.keys(inputs?.overrides ?? {}).sort();
  const same = givenVars.length > 0 && givenVars.join('\0') === [...approvedVars].sort().join('\0');
  const vars =
    differ.length === 0 || differ.some((d) => d.startsWith('--var '))
      ? [
          `${approvedVars.length ? `approved with --var ${approvedVars.join(', ')}` : approved === inputsDigest(undefined) ? 'approved without --var' : 'approved with inputs it does not name'}; this run overrides ${givenVars.length ? givenVars.join(', ') : 'nothing'}${same ? ', with other values' : ''}`,
        ]
      : [];
  return `it approves other run inputs: ${[...vars, ...differ].join('; ')}: approve again with the --var flags and the environment values this release is given`;
}

const NO_UID = 'no user ID with that email';
/** Validity letters of `gpg --with-colons` that certify a user ID: full and ultimate. */
const VALID_UID = new Set(['f', 'u']);
const UID_VALIDITY: Record<string, string> = {
  r: 'revoked',
  e: 'expired',
  i: 'invalid',
  d: 'disabled',
  n: 'not valid',
  m: 'marginal',
  q: 'undefined',
  '-': 'unknown',
  o: 'unknown',
};

/**
 * Why the OpenPGP key `fingerprint` does not stand for `email`, or undefined when one of its user IDs with that
 * email has full or ultimate validity in the keyring git verifies with.
 */
function pgpUidProblem(fingerprint: string, uids: readonly PgpUid[], email: string): string | undefined {
  const mine = uids.filter((u) => u.email !== undefined && normalEmail(u.email) === normalEmail(email));
  if (mine.some((u) => VALID_UID.has(u.validity))) return undefined;
  if (!mine.length) return NO_UID;
  const states = [...new Set(mine.map((u) => UID_VALIDITY[u.validity] ?? u.validity))].join(', ');
  return `signed with the OpenPGP key ${fingerprint}, whose user ID for ${email} gpg does not hold valid (${states}): the key is trusted, not as ${email}; certify that user ID (gpg --lsign-key)`;
}
