import * as crypto from 'node:crypto';

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
  /** The values of the `${env:NAME}` the plan reads, by name (one unset is absent): they decide what ships as `--var` does. */
  env?: Record<string, InputValue>;
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

/** The inputs that decide what ships: the `--var` overrides and the `${env:NAME}` values the plan reads. */
export type DecidingInputs = Pick<RunInputs, 'overrides' | 'env'>;

/** Each deciding input by the name a message gives it (`--var NAME`, `${env:NAME}`), sorted. */
export function inputEntries(i: DecidingInputs | undefined): [string, InputValue][] {
  const entries: [string, InputValue][] = [
    ...Object.entries(i?.overrides ?? {}).map(([k, v]): [string, InputValue] => [`--var ${k}`, v]),
    ...Object.entries(i?.env ?? {}).map(([k, v]): [string, InputValue] => [`\${env:${k}}`, v]),
  ];
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const valueHash = (v: InputValue) => ('value' in v ? sha256(v.value) : v.sha256);

/**
 * The identity of the inputs that decide what ships: sha256 of the canonical JSON of every deciding input's
 * name and the hash of its value, sorted by name. Every value counts by its hash, so a run's journaled inputs
 * (a secret by hash only), an approver's and an operator's environment give the same digest for the same
 * values, whichever of them holds a secret. JSON keeps each pair apart; no input at all hashes as `[]`.
 */
export function inputsDigest(i: DecidingInputs | undefined): string {
  return sha256(JSON.stringify(inputEntries(i).map(([k, v]) => [k, valueHash(v)])));
}

/** The digest of a run's journaled inputs: the same digest, by the same construction. */
export const journaledInputsDigest = inputsDigest;

/** The digest of `--var` overrides given as they are (no `${env:…}` value): the same digest a run that was given them journals. */
export const runInputsDigest = (overrides: Readonly<Record<string, string>>): string =>
  inputsDigest({ overrides: Object.fromEntries(Object.entries(overrides).map(([k, v]): [string, InputValue] => [k, { value: v }])) });

/**
 * The deciding inputs that differ between `a` and `b`, each named with both values (a secret by its hash
 * prefix, never its value); empty when they are the same. `as` names the two sides in the message.
 */
export function inputsDiff(a: DecidingInputs | undefined, b: DecidingInputs | undefined, as: [string, string]): string[] {
  const left = new Map(inputEntries(a));
  const right = new Map(inputEntries(b));
  const names = [...new Set([...left.keys(), ...right.keys()])].sort();
  const text = (v: InputValue | undefined) => (v ? inputText(v) : 'unset');
  return names.flatMap((n) => {
    const l = left.get(n);
    const r = right.get(n);
    if (l && r && valueHash(l) === valueHash(r)) return [];
    return [`${n}: ${as[0]} ${text(l)}, ${as[1]} ${text(r)}`];
  });
}

/**
 * The report's line for a run's inputs: every `--var` override, a secret by its hash; undefined when there
 * were none. Ticks and waivers are journaled with them and show in the checklist as the items they changed.
 */
export function inputsLine(inputs: RunInputs | undefined): string | undefined {
  const parts = Object.entries(inputs?.overrides ?? {}).map(([k, v]) => `--var ${k}=${'value' in v ? v.value : inputText(v)}`);
  return parts.length ? parts.join(', ') : undefined;
}
