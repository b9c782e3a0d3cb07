import { execFileSync } from 'node:child_process';

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
  const msg = approvalText({ commit: o.head, plan: o.planHash, approver: `${o.who.name} <${o.who.email}>`, at: new Date().toISOString() });
  execFileSync(
    'git',
    [
      ...['-c', `user.name=${o.who.name}`, '-c', `user.email=${o.who.email}`, '-c', `user.signingkey=${o.key}`],
      ...['tag', '-s', '-m', msg, `release-pilot/approval/production/1.2.3/${o.name}`, o.head],
    ],
    { cwd: dir, env: { ...process.env, GNUPGHOME: o.gnupgHome }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}
