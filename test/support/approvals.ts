import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { main } from '../../src/cli/cliMain';
import { tempDir, write } from './helpers';

/** The text of an approval tag as `release-pilot approve` writes it: production 1.2.3, `f` over the defaults. */
export function approvalText(f: { commit: string; plan: string; approver: string; at: string; environment?: string; version?: string }): string {
  const fields = { environment: 'production', version: '1.2.3', ...f };
  const order = ['environment', 'version', 'commit', 'plan', 'approver', 'at'] as const;
  return ['release-pilot approval', ...order.map((k) => `${k}: ${fields[k]}`)].join('\n');
}

/** gpg in the keyring `gnupgHome`, without a passphrase or a prompt; its standard output. */
export const gpgIn = (gnupgHome: string, ...args: string[]): string =>
  execFileSync('gpg', ['--batch', '--yes', '--passphrase', '', '--pinentry-mode', 'loopback', ...args], {
    encoding: 'utf8',
    env: { ...process.env, GNUPGHOME: gnupgHome },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/** A new ed25519 signing key for `uid` in `gnupgHome`; its fingerprint. */
export function newGpgKey(gnupgHome: string, uid: string): string {
  gpgIn(gnupgHome, '--quick-gen-key', uid, 'ed25519', 'sign', 'never');
  const fprs = gpgIn(gnupgHome, '--list-secret-keys', '--with-colons')
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]);
  return fprs[fprs.length - 1];
}

/** An approval tag of `head` in `dir` by `who`, signed by git with the gpg key `key` of the keyring `gnupgHome`. */
export function gpgApprovalTag(
  dir: string,
  o: { name: string; head: string; planHash: string; who: { name: string; email: string }; key: string; gnupgHome: string },
): void {
  const message = approvalText({ commit: o.head, plan: o.planHash, approver: `${o.who.name} <${o.who.email}>`, at: new Date().toISOString() });
  signedApprovalTag(dir, { ...o, message });
}

/** Someone who approves: their git identity and the file of their SSH signing key. */
export interface Person {
  name: string;
  email: string;
  key: string;
}

/** A new ed25519 SSH key (ssh-keygen, no passphrase) commented `comment`, written to `file`; its file. */
export function newSshKey(comment: string, file = path.join(tempDir('rp-sshkey-'), 'id')): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return file;
}

/** The public half of an SSH key, as an allowed-signers line holds it. */
export const publicKey = (key: string): string => fs.readFileSync(`${key}.pub`, 'utf8').trim();

/** Makes `lines` (`email key`) the allowed signers git verifies SSH signatures with, in the repository `git` runs in. */
export const allowSigners = (git: (...a: string[]) => string, lines: string[]): string =>
  git('config', 'gpg.ssh.allowedSignersFile', write(tempDir('rp-signers-'), 'allowed', `${lines.join('\n')}\n`));

/**
 * An approval tag `release-pilot/approval/production/<version>/<name>` of `head` in `dir`, signed by `who`
 * with the key `key`: an SSH key, or a gpg key of the keyring `gnupgHome`.
 */
export function signedApprovalTag(
  dir: string,
  o: { name: string; head: string; message: string; who: { name: string; email: string }; key: string; version?: string; gnupgHome?: string },
): void {
  execFileSync(
    'git',
    [
      ...['-c', `user.name=${o.who.name}`, '-c', `user.email=${o.who.email}`, '-c', `user.signingkey=${o.key}`],
      ...['tag', '-s', '-m', o.message, `release-pilot/approval/production/${o.version ?? '1.2.3'}/${o.name}`, o.head],
    ],
    { cwd: dir, env: o.gnupgHome ? { ...process.env, GNUPGHOME: o.gnupgHome } : process.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/**
 * A repository whose approvals are SSH-signed by the people of `signers` (the operator first): git signs
 * with SSH keys and trusts theirs. Gives the CLI run in-process on `planFile` (its code and what it
 * printed), and `approve` run as another person: their identity and key for that one command.
 */
export function sshApprovals(git: (...a: string[]) => string, planFile: string, operator: Person, signers: Person[]) {
  allowSigners(
    git,
    signers.map((p) => `${p.email} ${publicKey(p.key)}`),
  );
  git('config', 'gpg.format', 'ssh');
  const as = (p: Person) => {
    git('config', 'user.name', p.name);
    git('config', 'user.email', p.email);
    git('config', 'user.signingkey', p.key);
  };
  as(operator);
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main([...argv, '--plan', planFile], { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
    return { code, out, err };
  };
  const approveAs = async (p: Person, ...argv: string[]) => {
    as(p);
    try {
      return await cli('approve', ...argv);
    } finally {
      as(operator);
    }
  };
  return { cli, approveAs };
}
