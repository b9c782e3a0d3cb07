import * as fs from 'node:fs';
import { Document, visit, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { $ZodIssue } from 'zod/v4/core';
import { closest, knownKeys, locate } from './planPaths';
import { Plan } from '../model/schema';
import { scalarText } from '../model/schema-parts';
import { BUILTIN_NAMES, placeOf, scanReferences, unavailable } from './scope';
import { isShellKey, runtimeVarProblems, shellReferenceProblems, withShellForms } from './shellRefs';
import { planWarnings } from './warnings';
import { firstInvalidUtf8, invisibleCharacters, notUtf8Spot, tabIndentMessage } from './planText';

export { firstInvalidUtf8 } from './planText';

export const MAX_PLAN_BYTES = 1024 * 1024;
const MAX_ALIAS_COUNT = 100;

export interface PlanProblem {
  file: string;
  /** 1-based. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Dotted key path, e.g. `phases.deploy.strategy`; empty for the whole file. */
  path: string;
  message: string;
  /** Absent: an error, the plan is refused. A warning: the plan runs, the user is told. */
  severity?: 'warning';
}

export type LoadResult = { ok: true; plan: Plan; file: string; text: string; warnings: PlanProblem[] } | { ok: false; problems: PlanProblem[]; file: string };

export function formatProblem(p: PlanProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.severity ? `${p.severity}: ` : ''}${p.message}${p.path ? ` (at ${p.path})` : ''}`;
}

export function loadPlanFile(file: string): LoadResult {
  let bytes: Buffer;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return fail(file, `not a file`);
    if (st.size > MAX_PLAN_BYTES) return fail(file, `the plan is ${st.size} bytes; a plan larger than ${MAX_PLAN_BYTES} bytes is refused`);
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(
      file,
      code === 'ENOENT'
        ? 'no release plan here (create one with "Deploy: Create Release Plan" or copy an example)'
        : `cannot read the plan: ${(e as Error).message}`,
    );
  }
  return parsePlan(bytes, file);
}

export function parsePlan(input: Buffer | string, file: string): LoadResult {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    if (input.length > MAX_PLAN_BYTES) return fail(file, `the plan is ${input.length} bytes; a plan larger than ${MAX_PLAN_BYTES} bytes is refused`);
    const bad = firstInvalidUtf8(input);
    if (bad >= 0) {
      const { line, column, message } = notUtf8Spot(input, bad);
      return { ok: false, file, problems: [{ file, line, column, endLine: line, endColumn: column + 1, path: '', message }] };
    }
    text = input.toString('utf8');
  }
  if (text.length > MAX_PLAN_BYTES) return fail(file, `the plan is larger than ${MAX_PLAN_BYTES} characters and is refused`);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const lc = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  } catch (e) {
    return fail(file, `cannot parse YAML: ${(e as Error).message}`);
  }
  const at = problemAt(lc, text, file);
  const unseen = invisibleCharacters(text, (offset) => lc.linePos(offset), doc.errors.length > 0);
  if (unseen.length) return { ok: false, file, problems: unseen.map((u) => at(u.offset, u.offset + 1, '', u.message)) };
  if (doc.errors.length > 0) {
    const line = (e: (typeof doc.errors)[number]) => lc.linePos(e.pos[0]).line;
    return { ok: false, file, problems: doc.errors.map((e) => at(e.pos[0], e.pos[1], '', yamlMessage(e.code, e.message, line(e)))) };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const msg = (e as Error).message;
    return fail(
      file,
      /alias/i.test(msg)
        ? `too many alias expansions (more than ${MAX_ALIAS_COUNT}): the plan looks like an alias bomb and is refused`
        : `cannot read YAML: ${msg}`,
    );
  }
  if (data === null || data === undefined)
    return fail(file, 'the plan is empty: expected a mapping with release, acceptance, checklist, phases, rollback and monitoring');
  return withProtoKeys(checkPlan(doc, data, file, text, at), protoKeys(doc, at));
}

/** The schema sees a `__proto__` key of a fixed section as unknown; one of a map of names (environments) it never sees. */
function withProtoKeys(r: LoadResult, proto: PlanProblem[]): LoadResult {
  const seen = new Set(r.ok ? [] : r.problems.map((p) => p.path));
  const unseen = proto.filter((p) => !seen.has(p.path));
  if (unseen.length === 0) return r;
  const problems = [...(r.ok ? [] : r.problems), ...unseen].sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, file: r.file, problems };
}

/** `__proto__` as a key sets a JavaScript object's prototype instead of adding the key: what it names would vanish unseen. */
function protoKeys(doc: Document.Parsed, at: At): PlanProblem[] {
  const found: PlanProblem[] = [];
  visit(doc, {
    Pair(_, pair, ancestors) {
      const k = pair.key;
      if (!isScalar(k) || k.value !== '__proto__' || !k.range) return;
      const keys = ancestors.flatMap((a, i) =>
        isPair(a) && isScalar(a.key) ? [String(a.key.value)] : isSeq(a) ? [String(a.items.indexOf(ancestors[i + 1] as never))] : [],
      );
      const where = [...keys, '__proto__'].join('.');
      found.push(at(k.range[0], k.range[1], where, 'the key "__proto__" is reserved by JavaScript objects (it would vanish unseen): choose another name'));
    },
  });
  return found;
}

/** The plan's data against the schema, then its `${…}` references; warnings only for a plan that passes both. */
function checkPlan(doc: Document.Parsed, data: unknown, file: string, text: string, at: At): LoadResult {
  const parsed = Plan.safeParse(data);
  if (parsed.success) {
    const refProblems = checkReferences(doc, parsed.data, at);
    // Commands get their shell form here, once: every front end, the dry run and the journal show what bash runs.
    if (refProblems.length === 0) return { ok: true, plan: withShellForms(parsed.data), file, text, warnings: warningsAt(doc, parsed.data, at) };
    return { ok: false, file, problems: refProblems };
  }
  const problems = parsed.error.issues.flatMap((issue) => issueToProblems(issue, doc, at));
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, file, problems };
}

/** A problem over a range of the text, placed by line and column. */
function problemAt(lc: LineCounter, text: string, file: string): At {
  const pos = (offset: number) => lc.linePos(Math.min(Math.max(offset, 0), text.length));
  return (start, end, path, message) => {
    const a = pos(start);
    const b = pos(Math.max(end, start + 1));
    return { file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col, path, message };
  };
}

export { PLAN_REF_RE } from './scope';

/** One `${env:NAME}` the plan resolves, with the line it is on. */
export interface EnvReference {
  name: string;
  line: number;
}

/**
 * Every `${env:NAME}` the plan resolves: in its values (block scalars included, a shell comment
 * inside a command too, since the whole command is resolved), not in YAML comments and not in
 * fields used as written. A text that does not parse has none.
 */
export function envReferences(text: string): EnvReference[] {
  const lc = new LineCounter();
  const doc = parseDocument(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  const refs: EnvReference[] = [];
  visit(doc, {
    Scalar(key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.range || placeOf(pathOf(ancestry, key)) === 'literal') return;
      const start = lc.linePos(node.range[0]).line;
      for (const m of scanReferences(node.value)) {
        if (!m.ref?.startsWith('env:')) continue;
        // In a literal block (|) each line of the value is a line of the file, after the one of its indicator.
        const line = node.type === 'BLOCK_LITERAL' ? start + 1 + (node.value.slice(0, m.start).match(/\n/g)?.length ?? 0) : start;
        refs.push({ name: m.ref.slice(4), line });
      }
    },
  });
  return refs;
}

/**
 * Where a command of the plan cannot read a variable given at run time (`names`, from `--var`) as
 * data: inside single quotes or arithmetic. Each names its line; a run with those values is refused.
 */
export function runtimeVarRefusals(text: string, file: string, names: readonly string[]): PlanProblem[] {
  if (names.length === 0) return [];
  const lc = new LineCounter();
  const doc = parseDocument(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  const at = problemAt(lc, text, file);
  const out: PlanProblem[] = [];
  visit(doc, {
    Scalar(key, node, ancestry) {
      const keyPath = pathOf(ancestry, key);
      if (typeof node.value !== 'string' || !node.range || !isShellKey(keyPath)) return;
      for (const p of runtimeVarProblems(node.value, names)) {
        const where = at(node.range[0], node.range[1], keyPath, p.message);
        // In a literal block (|) each line of the value is a line of the file, after the one of its indicator.
        const line = node.type === 'BLOCK_LITERAL' ? where.line + 1 + (node.value.slice(0, p.start).match(/\n/g)?.length ?? 0) : where.line;
        out.push({ ...where, line, endLine: Math.max(line, where.endLine) });
      }
    },
  });
  return out;
}

function checkReferences(doc: Document.Parsed, plan: Plan, at: At): PlanProblem[] {
  const problems: PlanProblem[] = [];
  visit(doc, {
    Scalar(_key, node, ancestry) {
      if (typeof node.value !== 'string' || !node.range) return;
      const keyPath = pathOf(ancestry, _key);
      const place = placeOf(keyPath);
      for (const m of scanReferences(node.value)) {
        const message = m.problem ?? referenceProblem(m.ref!, place, plan);
        if (message) problems.push(at(node.range[0], node.range[1], keyPath, message));
      }
      if (isShellKey(keyPath)) for (const message of shellReferenceProblems(node.value)) problems.push(at(node.range[0], node.range[1], keyPath, message));
    },
  });
  return problems;
}

function referenceProblem(ref: string, place: ReturnType<typeof placeOf>, plan: Plan): string | undefined {
  if (place === 'literal')
    return `"\${${ref}}" is not resolved here: this field is used as written (references are resolved in commands, names, URLs, paths and step environments)`;
  if (ref.startsWith('env:')) {
    return /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(ref) ? undefined : `"\${${ref}}" is not an environment reference: expected \${env:NAME}`;
  }
  if (ref.startsWith('var.')) {
    const name = ref.slice(4);
    if (Object.hasOwn(plan.variables, name)) return undefined;
    if (!name) return `"\${var.}" names no variable: expected \${var.NAME}`;
    const s = closest(name, Object.keys(plan.variables));
    return `unknown variable "\${${ref}}"${s ? `; did you mean "\${var.${s}}"?` : `: declare ${name} under variables`}`;
  }
  if (!BUILTIN_NAMES.includes(ref)) {
    const s = closest(ref, [...BUILTIN_NAMES]);
    return `unknown reference "\${${ref}}"${s ? `; did you mean "\${${s}}"?` : ''}`;
  }
  const why = unavailable(ref, place, plan);
  return why ? `"\${${ref}}" has no value here: ${why}` : undefined;
}

function warningsAt(doc: Document.Parsed, plan: Plan, at: At): PlanProblem[] {
  return planWarnings(plan).map((w) => {
    const found = locate(doc, w.path);
    return { ...at(found.valueRange[0], found.valueRange[1], w.path.join('.'), w.message), severity: 'warning' as const };
  });
}

function pathOf(ancestry: readonly unknown[], key: unknown): string {
  const parts: string[] = [];
  const chain = [...ancestry.slice(1), null];
  for (let i = 0; i < ancestry.length; i++) {
    const parent = ancestry[i];
    const child = chain[i];
    if (isPair(parent) && isScalar(parent.key)) parts.push(String(parent.key.value));
    else if (isSeq(parent) && child !== null) parts.push(`[${parent.items.indexOf(child)}]`);
  }
  if (typeof key === 'number') parts.push(`[${key}]`);
  return parts.join('.').replace(/\.\[/g, '[');
}

function fail(file: string, message: string): LoadResult {
  return { ok: false, file, problems: [{ file, line: 1, column: 1, endLine: 1, endColumn: 1, path: '', message }] };
}

function yamlMessage(code: string, message: string, line: number): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') return `duplicate key: ${first}`;
  if (code === 'TAB_AS_INDENT') return tabIndentMessage(line);
  return `YAML: ${first}`;
}

type At = (start: number, end: number, path: string, message: string) => PlanProblem;

function issueToProblems(issue: $ZodIssue, doc: Document.Parsed, at: At): PlanProblem[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const dotted = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${p}`)).join('');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const known = knownKeys(path);
      const suggestion = closest(key, known);
      const hint = suggestion ? `; did you mean "${suggestion}"?` : known.length ? `; expected one of: ${known.join(', ')}` : '';
      const found = locate(doc, [...path, key]);
      const keyPath = dotted ? `${dotted}.${key}` : key;
      return at(found.keyRange[0], found.keyRange[1], keyPath, `unknown key "${key}"${hint}`);
    });
  }
  const found = locate(doc, path);
  let message = issue.message;
  if (!found.exact && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    message = `missing required key "${String(path[path.length - 1])}" (expected ${expectedOf(issue)})`;
  } else if (issue.code === 'invalid_union') {
    const specific = issue.errors.flat().find((i) => i.code !== 'invalid_type');
    message = specific ? specific.message : `expected ${expectedOf(issue)}, got ${describe(found.value)}`;
  } else if (issue.code === 'invalid_type') {
    message = `expected ${issue.expected}, got ${describe(found.value)}${issue.expected === 'string' ? quoteHint(found.value) : ''}`;
  } else if (issue.code === 'invalid_value') {
    message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(found.value)}`;
  } else if (issue.code === 'invalid_key') {
    // A record's key broke its rule (a header name): the rule's own words, about the key.
    message = `${issue.issues[0]?.message ?? 'invalid key'}, got ${JSON.stringify(String(path.at(-1)))}`;
    return [at(found.keyRange[0], found.keyRange[1], dotted, message)];
  }
  const range = found.exact ? found.valueRange : found.keyRange;
  return [at(range[0], range[1], dotted, message)];
}

function expectedOf(issue: $ZodIssue): string {
  if (issue.code === 'invalid_type') return issue.expected;
  if (issue.code === 'invalid_union') {
    const types = [
      ...new Set(
        issue.errors.flat().flatMap((i) => (i.code === 'invalid_type' ? [i.expected] : i.code === 'invalid_format' ? ['a string in the right format'] : [])),
      ),
    ];
    return types.length ? types.join(' or ') : 'a value';
  }
  return 'a value';
}

/** YAML reads `5432`, `1.10` and `yes` as a number or a boolean: a text is kept as written only quoted. */
function quoteHint(node: YamlNode | null | undefined): string {
  if (!isScalar(node) || (typeof node.value !== 'number' && typeof node.value !== 'boolean')) return '';
  const written = node.source ?? String(node.value);
  return ` (YAML reads ${written} unquoted as a ${typeof node.value}): quote it, "${written}", to keep the text as written`;
}

function describe(node: YamlNode | null | undefined): string {
  if (!node) return 'nothing';
  if (isScalar(node)) return node.value === null ? 'null' : `${typeof node.value} ${scalarText(node.value)}`;
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  return 'an alias';
}
