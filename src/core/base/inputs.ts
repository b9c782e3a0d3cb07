import * as crypto from 'node:crypto';

/**
 * The identity of a run's inputs from outside the plan (`--var NAME=VALUE`): sha256 of the canonical JSON of its
 * name/value pairs sorted by name. JSON keeps every pair apart (no separator a value could forge), and sorting
 * makes the order of the flags irrelevant. Names and values are hashed as given, without normalising: a value
 * that differs by one byte deploys something else.
 */
export function runInputsDigest(overrides: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(overrides).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return crypto.createHash('sha256').update(JSON.stringify(pairs)).digest('hex');
}

/** The names a run overrides, sorted: what a message names (never the values, which may be sensitive). */
export const overriddenNames = (overrides: Readonly<Record<string, string>>): string[] => Object.keys(overrides).sort();
