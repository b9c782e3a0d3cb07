// What counts as a written reason: the one rule for every waiver, abandon, override, forced rollback and data-loss allowance.

/** The fewest visible characters a reason has: "ok" or "." is not a reason. */
export const MIN_REASON_CHARS = 3;

export const REASON_RULE = `a reason is written text: at least ${MIN_REASON_CHARS} visible characters, letters or digits among them (blanks and invisible characters such as zero-width spaces do not count)`;

/** The reason as written, trimmed, when it is one by `REASON_RULE`; undefined when it is blank, invisible or too short. */
export function writtenReason(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  const visible = reason.normalize('NFKC').replace(/[\p{Cf}\p{Z}\p{Cc}\p{M}\s]/gu, '');
  if ([...visible].length < MIN_REASON_CHARS || !/[\p{L}\p{N}]/u.test(visible)) return undefined;
  return reason.replace(/^[\p{Cf}\p{Z}\p{Cc}\s]+|[\p{Cf}\p{Z}\p{Cc}\s]+$/gu, '');
}
