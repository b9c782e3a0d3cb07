import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gitResult } from './git';
import { runProgram } from '../exec/short';

/**
 * Who a signing key is: its one fingerprint (the OpenPGP primary key's, whichever subkey signed; the SSH key's
 * `SHA256:…`) and every email it carries (all the key's OpenPGP user IDs, certified or not; every principal the
 * allowed signers file lists it under). Approvals are counted per key, and a key that carries any identity of
 * the operator is the operator's.
 */
export interface KeyIdentity {
  keys: string[];
  emails: string[];
}

const configured = async (cwd: string, key: string, asPath = false) => {
  const r = await gitResult(cwd, ['config', ...(asPath ? ['--path'] : []), '--get', key]);
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
};

/** The email a user ID names: the last `<…>` at its end, or the whole user ID when it is a bare address. */
export function uidEmail(uid: string): string | undefined {
  const text = uid.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))).trim();
  const m = /<([^<>]*)>$/.exec(text);
  if (m) return m[1];
  return /^[^\s<>@]+@[^\s<>@]+$/.test(text) ? text : undefined;
}

export interface PgpUid {
  validity: string;
  uid: string;
  email?: string;
}
/** The keys gpg lists for `spec` (a fingerprint, a key id, a user ID), each with its primary fingerprint and user IDs. */
export async function pgpKeys(cwd: string, spec: string): Promise<{ keys: { fingerprint: string; uids: PgpUid[] }[] } | { error: string }> {
  // The gpg git verifies with (`gpg.openpgp.program`, `gpg.program`), in the same environment (GNUPGHOME): one keyring.
  const program = (await configured(cwd, 'gpg.openpgp.program')) ?? (await configured(cwd, 'gpg.program')) ?? 'gpg';
  const r = await runProgram(program, ['--batch', '--with-colons', '--fixed-list-mode', '--list-keys', '--', spec], {
    cwd,
    timeoutMs: 60_000,
    env: { LC_ALL: 'C' },
  });
  if (r.exitCode !== 0) return { error: r.stderr.trim().split('\n')[0] || `exit code ${r.exitCode}` };
  const keys: { fingerprint: string; uids: PgpUid[] }[] = [];
  let inPrimary = false;
  for (const line of r.stdout.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'pub') {
      keys.push({ fingerprint: '', uids: [] });
      inPrimary = true;
    } else if (f[0] === 'sub') inPrimary = false;
    else if (f[0] === 'fpr' && inPrimary && keys.length && !keys[keys.length - 1].fingerprint) keys[keys.length - 1].fingerprint = f[9] ?? '';
    else if (f[0] === 'uid' && keys.length) keys[keys.length - 1].uids.push({ validity: f[1], uid: f[9] ?? '', email: uidEmail(f[9] ?? '') });
  }
  return { keys: keys.filter((k) => k.fingerprint) };
}

/** OpenSSH's fingerprint of a public key blob (base64): `SHA256:` and the unpadded base64 of its sha256. */
export const sshFingerprint = (blob: string) => `SHA256:${crypto.createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;

const SSH_KEY_TYPE = /^(ssh-|ecdsa-|sk-ssh-|sk-ecdsa-)/;
/** The type and blob of the first public key written in `text` (an allowed signers line, a .pub file, `key::…`). */
function publicKeyIn(text: string): string | undefined {
  const tokens = text.trim().split(/\s+/);
  const at = tokens.findIndex((t, i) => SSH_KEY_TYPE.test(t) && /^[A-Za-z0-9+/]+=*$/.test(tokens[i + 1] ?? ''));
  return at >= 0 ? tokens[at + 1] : undefined;
}

/** Each key of the allowed signers file (by fingerprint) with every principal a line lists it under. */
export async function allowedSignerPrincipals(cwd: string): Promise<Map<string, string[]>> {
  const file = await configured(cwd, 'gpg.ssh.allowedSignersFile', true);
  const byKey = new Map<string, string[]>();
  if (!file) return byKey;
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(cwd, file), 'utf8');
  } catch {
    return byKey;
  }
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const blob = publicKeyIn(t.slice(t.search(/\s/) + 1));
    if (!blob || /(^|[\s,])cert-authority([\s,]|$)/.test(t.slice(0, t.indexOf(blob)))) continue;
    const fpr = sshFingerprint(blob);
    byKey.set(fpr, [...(byKey.get(fpr) ?? []), ...t.split(/\s/)[0].split(',').filter(Boolean)]);
  }
  return byKey;
}

/** The public key blob `user.signingkey` names for SSH signing: `key::…`, a .pub file, or a private key file. */
async function sshSigningBlob(cwd: string, signingKey: string): Promise<string | undefined> {
  if (signingKey.startsWith('key::')) return publicKeyIn(signingKey.slice(5));
  const file = path.resolve(cwd, signingKey.replace(/^~(?=\/)/, process.env.HOME ?? '~'));
  for (const candidate of [file, `${file}.pub`]) {
    try {
      const blob = publicKeyIn(fs.readFileSync(candidate, 'utf8'));
      if (blob) return blob;
    } catch {
      // Not readable as a public key: the next candidate, then ssh-keygen.
    }
  }
  const r = await runProgram('ssh-keygen', ['-y', '-P', '', '-f', file], { cwd, timeoutMs: 30_000, env: { LC_ALL: 'C' } });
  return r.exitCode === 0 ? publicKeyIn(r.stdout) : undefined;
}

/** The key (or keys) `user.signingkey` names, as the format git signs with here reads it; none when unset or unknown. */
export async function signingKeyIdentity(cwd: string, signingKey: string | undefined): Promise<KeyIdentity> {
  const spec = signingKey?.trim();
  if (!spec) return { keys: [], emails: [] };
  if ((await configured(cwd, 'gpg.format')) === 'ssh') {
    const blob = await sshSigningBlob(cwd, spec);
    if (!blob) return { keys: [], emails: [] };
    const fpr = sshFingerprint(blob);
    return { keys: [fpr], emails: (await allowedSignerPrincipals(cwd)).get(fpr) ?? [] };
  }
  const listed = await pgpKeys(cwd, spec.replace(/!$/, ''));
  if ('error' in listed) return { keys: [], emails: [] };
  return {
    keys: listed.keys.map((k) => k.fingerprint),
    emails: listed.keys.flatMap((k) => k.uids.flatMap((u) => (u.email ? [u.email] : []))),
  };
}

/** `user.signingkey` here, if set. */
export const configuredSigningKey = (cwd: string) => configured(cwd, 'user.signingkey');
