// The plan's `store:` key: where a team shares its record of releases and who may release an environment now.
import * as z from 'zod/mini';
import { ENV_REF_RE, exactlyOne } from './schema-parts';
import { doc, duration, durationText, writtenDefault } from './schema-values';
import { nameKey } from './names';

/** The shortest and longest lease a plan may set: shorter renews too often to survive a slow network, longer leaves a dead holder's lock for too long. */
export const LEASE_MIN_MS = 5_000;
export const LEASE_MAX_MS = 600_000;
const LEASE_DEFAULT_MS = 30_000;

const lease = () =>
  writtenDefault(
    doc(
      z._default(
        duration({
          max: LEASE_MAX_MS,
          min: { ms: LEASE_MIN_MS, why: 'the holder renews every third of its lease, and a shorter one expires on an ordinary network hiccup' },
        }),
        LEASE_DEFAULT_MS,
      ),
      `How long the environment's lock holds without a renewal; after it, the holder is stale and another machine may take over. The holder renews every third of it. Between ${durationText(LEASE_MIN_MS)} and ${durationText(LEASE_MAX_MS)}.`,
    ),
    durationText(LEASE_DEFAULT_MS),
  );

const GitStoreSettings = z.strictObject({
  remote: doc(
    z
      .string()
      .check(
        z.refine(
          (v) => v.trim() === v && v.length > 0 && !/[\s\p{Cc}]/u.test(v) && !v.startsWith('-'),
          'expected a git remote: a URL (ssh://git@host/team/releases.git) or the name of a remote of the workspace repository (origin)',
        ),
      ),
    'The git remote that holds the store: a URL or the name of a remote of the workspace repository. For example `ssh://git@git.example.com/team/releases.git`, `git@host:team/repo.git` or `origin`. Runs, locks and rollback requests are refs under `refs/release-pilot/`; branches and tags are never touched.',
  ),
  lease: lease(),
});

const PostgresStoreSettings = z.strictObject({
  url: doc(
    z
      .string()
      .check(z.regex(ENV_REF_RE, 'expected ${env:NAME}: a database URL can hold a password, so it comes from the environment and stays out of the plan')),
    'The PostgreSQL connection URL, written as `${env:NAME}`: it can hold a password, so it comes from the environment and is masked in every output.',
  ),
  lease: lease(),
});

export const StoreSettings = z
  .strictObject({
    git: doc(z.optional(GitStoreSettings), 'A git remote the team already has: no extra service.'),
    postgres: doc(z.optional(PostgresStoreSettings), 'One PostgreSQL database: the lock goes with the releasing connection.'),
  })
  .check(exactlyOne(['git', 'postgres'], 'expected exactly one store'));
/** The store a plan names: exactly one of its backends is set (the schema's check). */
export type StoreSettings = z.infer<typeof StoreSettings>;

export const storeDoc =
  'Where the team shares its record of releases and who may release an environment now: exactly one of `git` or `postgres`. Absent, the record is the local journal only (`.release/runs`) and the lock is local to the workspace. With a store, one release per service and environment runs at a time across every machine, and every teammate can follow it.';

/** The longest lock key: it is a ref name's last part in the git store. */
export const LOCK_KEY_MAX = 200;
const LOCK_KEY_RE = /^[a-z0-9_%][a-z0-9_%-]*@[a-z0-9_%][a-z0-9_%-]*$/;

/** A name key as a lock key writes it: letters, digits, `_` and `-` (not first) as they are, any other byte of its UTF-8 as `%xx`; `%z` (never a byte) starts the digest of a long part. */
const keyPart = (text: string) =>
  [...new TextEncoder().encode(text)]
    .map((b, i) =>
      b < 0x80 && (/[a-z0-9_]/.test(String.fromCharCode(b)) || (b === 0x2d && i > 0)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('');

/** A short stable digest of a long key part (FNV-1a, 64 bits in two halves): the model layer imports no crypto. */
function digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c ^ (a >>> 7), 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/**
 * The key of an environment's lock in a store: one release of a service to an environment at a time, names
 * matched as every reading of the journals matches them (`nameKey`: case aside, look-alikes read as the
 * letters they imitate). Written so that it is a valid ref name part: `orders%20api@production`; a part
 * longer than a key allows keeps its start and a digest of the whole.
 */
export function lockKey(name: string, environment: string): string {
  const part = (t: string) => {
    const k = keyPart(nameKey(t));
    return k === '' ? '%z' : k.length <= 96 ? k : `${k.slice(0, 78)}%z${digest(k)}`;
  };
  return `${part(name)}@${part(environment)}`;
}

/** Why a text is no lock key (what `lockKey` makes), or undefined: a key is a ref name's last part, never a path. */
export function lockKeyProblem(key: string): string | undefined {
  if (key.length <= LOCK_KEY_MAX && LOCK_KEY_RE.test(key)) return undefined;
  const shown = JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key);
  return `${shown} is not a lock key: expected what lockKey(name, environment) makes (service@environment in lower-case letters, digits, _ - and %xx, at most ${LOCK_KEY_MAX} characters)`;
}
