import * as fs from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod/mini';
import { ChangelogSettings } from '../model/schema';
import { MAX_PLAN_BYTES, type PlanProblem } from './load';

/**
 * The part of a plan the changelog reads. A full release plan passes (other keys are ignored, so a
 * plan that is still being written does not block a changelog); so does a file with only these keys.
 */
export const ChangelogPlan = z.object({
  release: z.optional(z.object({ tagPrefix: z.optional(z.string()), version: z.optional(z.string()) })),
  changelog: z.optional(ChangelogSettings),
});
export type ChangelogPlan = z.infer<typeof ChangelogPlan>;

export type ChangelogPlanResult = { ok: true; plan: ChangelogPlan; found: boolean } | { ok: false; problems: PlanProblem[] };

/** Reads the plan's `release:` and `changelog:` keys; a missing plan is fine unless it was named (`required`). */
export function loadChangelogPlan(file: string, required: boolean): ChangelogPlanResult {
  const problem = (message: string, line = 1, column = 1): ChangelogPlanResult => ({
    ok: false,
    problems: [{ file, line, column, endLine: line, endColumn: column + 1, path: '', message }],
  });
  let text: string;
  try {
    if (fs.statSync(file).size > MAX_PLAN_BYTES) return problem(`the plan is larger than ${MAX_PLAN_BYTES} bytes and is refused`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !required) return { ok: true, plan: {}, found: false };
    return problem(`cannot read the plan: ${(e as Error).message}`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length) {
    const at = lc.linePos(doc.errors[0].pos[0]);
    return problem(`cannot parse YAML: ${doc.errors[0].message.split('\n')[0]}`, at.line, at.col);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    return problem(`cannot read YAML: ${(e as Error).message}`);
  }
  const parsed = ChangelogPlan.safeParse(data);
  if (parsed.success) return { ok: true, plan: parsed.data, found: true };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => {
      const keys = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
      // Point at the deepest node that exists: a missing key is reported on its parent.
      let node: { range?: [number, number, number] } | undefined;
      for (let n = keys.length; n >= 0 && !node?.range; n--) node = doc.getIn(keys.slice(0, n), true) as typeof node;
      const at = lc.linePos(node?.range?.[0] ?? 0);
      return { file, line: at.line, column: at.col, endLine: at.line, endColumn: at.col + 1, path: keys.join('.'), message: issue.message };
    }),
  };
}
