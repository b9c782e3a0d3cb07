// The one way a rollback step says it rolled back everything it could except some hosts: a line
// of its output containing `release-pilot: needs-attention HOST: WHY`. Every such line becomes part
// of the rollback's outcome (journaled with `rollback.finished`), shown by the report, the tree,
// the CLI and the announcement as "rolled back except HOST: WHY". A step that prints none rolled
// back everything; a step that fails is a failed rollback, whatever it printed.

const LINE = /release-pilot: needs-attention ([^\s:]+): ([^"\r\n]*[^"\s\\])/g;

/** The hosts a rollback step's output names as needing a person, each "HOST: WHY", in order, once each. */
export function needsAttentionIn(output: string): string[] {
  const found: string[] = [];
  for (const m of output.matchAll(LINE)) {
    const item = `${m[1]}: ${m[2].trim()}`;
    if (!found.includes(item)) found.push(item);
  }
  return found;
}

/** " except h3: unreachable over SSH; …" for a partial rollback, "" for a complete one. */
export function exceptText(needsAttention: readonly string[] | undefined): string {
  return needsAttention?.length ? ` except ${needsAttention.join('; and ')}` : '';
}
