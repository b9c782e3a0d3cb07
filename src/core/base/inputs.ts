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

/**
 * One value a run was started with. A value that holds a secret is kept by name and hash only: the
 * journal never holds it, and a resume proves it was given the same value by its hash.
 */
export type InputValue = { value: string } | { sha256: string };

/** What a run was started with beyond its plan and commit: part of the run, journaled at its start. */
export interface RunInputs {
  /** The `--var NAME=VALUE` overrides, by name. */
  overrides: Record<string, InputValue>;
  /** Every plan variable as the run resolves it: the plan's value, or the override over it. */
  variables: Record<string, InputValue>;
  /** Checklist items ticked from the command line (`--tick`). */
  ticks?: string[];
  /** Steps waived from the command line (`--waive ID=REASON`), with their reasons. */
  waivers?: Record<string, string>;
}

export const sha256 = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** An input as the journal keeps it: the value, or its hash when `secret` says the value holds a secret. */
export function inputValue(value: string, secret: (v: string) => boolean): InputValue {
  return secret(value) ? { sha256: sha256(value) } : { value };
}

/** Whether `value` is what `kept` recorded (by value, or by hash for a secret). */
export function sameInput(kept: InputValue, value: string): boolean {
  return 'value' in kept ? kept.value === value : kept.sha256 === sha256(value);
}

/** How an input reads in a message or a report: the value quoted, or a secret's hash prefix (never the value). */
export function inputText(v: InputValue): string {
  return 'value' in v ? JSON.stringify(v.value) : `a secret (sha256 ${v.sha256.slice(0, 12)}…)`;
}

/**
 * A stable hash of a run's journaled overrides: the same names with the same values give the same digest
 * whatever their order; a secret counts by its hash (the journal holds no secret value to hash again).
 */
export function journaledInputsDigest(inputs: Pick<RunInputs, 'overrides'> | undefined): string {
  const entries = Object.entries(inputs?.overrides ?? {})
    .map(([name, v]): [string, string] => [name, 'value' in v ? `v:${v.value}` : `h:${v.sha256}`])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(JSON.stringify(entries));
}

/**
 * The report's line for a run's inputs: every `--var` override, a secret by its hash; undefined when there
 * were none. Ticks and waivers are journaled with them and show in the checklist as the items they changed.
 */
export function inputsLine(inputs: RunInputs | undefined): string | undefined {
  const parts = Object.entries(inputs?.overrides ?? {}).map(([k, v]) => `--var ${k}=${'value' in v ? v.value : inputText(v)}`);
  return parts.length ? parts.join(', ') : undefined;
}
