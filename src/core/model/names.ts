// How a release's names and versions are compared: one key each, so that every reading of the
// journals (what is live, "already out", promotion, rollback admission) sees the same service,
// environment and version a person sees.
import { remove as confusablesOf } from 'confusables';
import parse from 'semver/functions/parse';

const fold = (s: string) => s.normalize('NFKC').trim().toLowerCase();

/** A Latin letter with accents (é, ñ, ø's base): its own letter, not a look-alike of the bare one. */
const accentedLatin = (ch: string) => /^[a-z]\p{M}+$/u.test(ch.normalize('NFD'));

/** The plain letter `ch` reads as (itself when it is plain or an accented Latin letter). */
const plainOf = (ch: string) => (accentedLatin(ch) ? ch : confusablesOf(ch).toLowerCase());

/**
 * The characters of `name` that read as other characters (Cyrillic `ѕ` as Latin `s`, Greek `Α` as
 * `A`, mathematical `𝐬` and full-width `ｓ` as `s`): a name made with them looks like another
 * service's name. Empty when none.
 */
export function lookAlikes(name: string): string[] {
  const out: string[] = [];
  for (const ch of name.normalize('NFC')) {
    const lower = ch.toLowerCase();
    const odd = ch.normalize('NFKC') !== ch || plainOf(lower) !== lower;
    if (odd && !out.includes(ch)) out.push(ch);
  }
  return out;
}

/** The text of a look-alike character for a message: the character and its code point. */
export const lookAlikeText = (ch: string) => `"${ch}" (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;

/**
 * The key a service or environment name is matched by: compatibility-normalised (full-width and
 * ligature forms are their plain letters), trimmed, case aside, and with look-alike characters read
 * as the letters they imitate (the plan refuses them, and journals written before are read so).
 */
export const nameKey = (name: string) => fold([...fold(name)].map(plainOf).join(''));

export const sameName = (a: string, b: string) => nameKey(a) === nameKey(b);

/**
 * The key a version is matched by when asking whether it went out already: semver precedence, where
 * build metadata does not count (`1.4.0+build.2` is 1.4.0) and a leading `v` is dropped.
 */
export function versionKey(version: string): string {
  const v = parse(version.trim().replace(/^v/, ''));
  if (!v) return version.trim();
  return v.prerelease.length ? `${v.major}.${v.minor}.${v.patch}-${v.prerelease.join('.')}` : `${v.major}.${v.minor}.${v.patch}`;
}

export const sameVersion = (a: string, b: string) => versionKey(a) === versionKey(b);
