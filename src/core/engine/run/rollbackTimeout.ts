/** A rollback step's timeout: its own, or what is left of the budget (never less than a second). */
export function rollbackStepTimeout(own: number | undefined, budgetMs: number, elapsedMs: number): number {
  return own ?? Math.max(1000, budgetMs - elapsedMs);
}
