// Editor help for the release plan, from the plan's JSON schema: the keys that fit where the cursor is,
// the values of an enum, the `${…}` references, and the text of a key's description. No `vscode` here:
// the adapter maps these to completion items, hovers and quick fixes.
import { BUILTINS, WHEN_TEXT } from './scope';

/** The subset of JSON Schema that `z.toJSONSchema` writes for the plan. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  pattern?: string;
  additionalProperties?: boolean | JsonSchema;
}

export interface KeySuggestion {
  key: string;
  description?: string;
  required: boolean;
  /** What the value looks like: `object`, `list`, `duration`, an enum's values… */
  detail: string;
  /** The text inserted after `key:`: a new indented line for objects and lists, a space otherwise. */
  container: 'object' | 'list' | 'scalar';
}

export interface RefSuggestion {
  /** The text between `${` and `}`. */
  ref: string;
  description: string;
}

/** One segment of a YAML path: a mapping key, or `[]` for an item of a list. */
export type PathSegment = string;

interface Line {
  indent: number;
  /** The key on this line (after any `- ` markers), if the line is `key:` or `key: value`. */
  key?: string;
  /** How many `- ` list markers open this line. */
  dashes: number;
  /** The column where the content after the dashes starts. */
  contentIndent: number;
  blank: boolean;
}

const KEY_RE = /^([A-Za-z_][A-Za-z0-9_.-]*|"[^"]*"|'[^']*')\s*:(?:\s|$)/;

function parseLine(text: string): Line {
  const indent = text.length - text.trimStart().length;
  let rest = text.slice(indent);
  let dashes = 0;
  let contentIndent = indent;
  while (/^-(\s+|$)/.test(rest)) {
    const m = /^-(\s+|$)/.exec(rest)!;
    dashes++;
    contentIndent += m[0].length;
    rest = rest.slice(m[0].length);
  }
  const blank = rest.trim() === '' || rest.startsWith('#');
  const m = KEY_RE.exec(rest);
  const key = m ? m[1].replace(/^["']|["']$/g, '') : undefined;
  return { indent, key, dashes, contentIndent, blank: blank && dashes === 0 };
}

/**
 * The path of mappings and lists that holds a key written at `column` on line `lineNo` (0-based): the
 * chain of less-indented `key:` lines above it, with `[]` for each list item on the way.
 */
export function containerPath(lines: readonly string[], lineNo: number, column: number): PathSegment[] {
  const path: PathSegment[] = [];
  let want = column;
  // The cursor's own line: its list markers put the cursor inside new list items.
  const own = parseLine(lines[lineNo] ?? '');
  if (own.dashes && own.contentIndent <= column) {
    for (let i = 0; i < own.dashes; i++) path.unshift('[]');
    want = own.indent;
  }
  for (let i = lineNo - 1; i >= 0 && want > 0; i--) {
    const l = parseLine(lines[i]);
    if (l.blank) continue;
    if (l.dashes) {
      // A list item: the content after the dash is a mapping at contentIndent.
      if (l.contentIndent < want || (l.contentIndent === want && l.key === undefined)) {
        if (l.key !== undefined && l.contentIndent < want) path.unshift(l.key);
        for (let d = 0; d < l.dashes; d++) path.unshift('[]');
        want = l.indent;
      } else if (l.indent < want) {
        for (let d = 0; d < l.dashes; d++) path.unshift('[]');
        want = l.indent;
      }
      continue;
    }
    if (l.indent < want && l.key !== undefined) {
      path.unshift(l.key);
      want = l.indent;
    }
  }
  return path;
}

/** The schemas a path can lead to (a union gives several). */
export function schemasAt(root: JsonSchema, path: readonly PathSegment[]): JsonSchema[] {
  let here = flatten(root);
  for (const seg of path) {
    const next: JsonSchema[] = [];
    for (const s of here) {
      if (seg === '[]') {
        if (s.items) next.push(...flatten(s.items));
      } else {
        const p = s.properties?.[seg] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
        if (p) next.push(...flatten(p));
      }
    }
    here = next;
  }
  return here;
}

function flatten(s: JsonSchema): JsonSchema[] {
  const parts = [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])];
  if (!parts.length) return [s];
  const own: JsonSchema = { ...s, anyOf: undefined, oneOf: undefined, allOf: undefined };
  // Each alternative keeps the description written on the union.
  return [...(own.properties || own.items ? [own] : []), ...parts.flatMap((p) => flatten({ description: s.description, default: s.default, ...p }))];
}

const DURATION_PATTERN = '(ms|s|m|h|d)';

/** A short description of the values a schema takes. */
export function valueDetail(s: JsonSchema): string {
  const alts = flatten(s);
  if (alts.some((a) => a.pattern?.includes(DURATION_PATTERN))) return 'duration (30s, 5m, 1h, 250ms)';
  const enums = alts.flatMap((a) => a.enum ?? (a.const !== undefined ? [a.const] : []));
  if (enums.length) return enums.map((e) => JSON.stringify(e)).join(' | ');
  if (alts.some((a) => a.type === 'array')) return 'list';
  if (alts.some((a) => a.type === 'object')) return 'object';
  const types = [...new Set(alts.map((a) => (Array.isArray(a.type) ? a.type.join(' | ') : a.type)).filter(Boolean))];
  return types.join(' | ') || 'value';
}

function containerOf(s: JsonSchema): KeySuggestion['container'] {
  const alts = flatten(s);
  if (alts.every((a) => a.type === 'array')) return 'list';
  if (alts.every((a) => a.type === 'object' && a.properties)) return 'object';
  return 'scalar';
}

/** The keys that may be written in the mapping at `path`, minus those already there. */
export function keySuggestions(root: JsonSchema, path: readonly PathSegment[], present: ReadonlySet<string>): KeySuggestion[] {
  const out = new Map<string, KeySuggestion>();
  for (const s of schemasAt(root, path)) {
    for (const [key, prop] of Object.entries(s.properties ?? {})) {
      if (present.has(key) || out.has(key)) continue;
      out.set(key, { key, description: describe(prop), required: s.required?.includes(key) ?? false, detail: valueDetail(prop), container: containerOf(prop) });
    }
  }
  return [...out.values()];
}

/** The enum values of the key at `path` (the last segment is the key). */
export function valueSuggestions(root: JsonSchema, path: readonly PathSegment[]): string[] {
  const values = schemasAt(root, path).flatMap((s) => s.enum ?? (s.const !== undefined ? [s.const] : []));
  return [...new Set(values.filter((v): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v)).map(String))];
}

function describe(s: JsonSchema): string | undefined {
  return s.description ?? flatten(s).find((a) => a.description)?.description;
}

/** What a hover on the key at `path` says: its description, what it takes, and its default. */
export function keyHover(root: JsonSchema, path: readonly PathSegment[]): string | undefined {
  const here = schemasAt(root, path);
  if (!here.length) return undefined;
  const parentPath = path.slice(0, -1);
  const key = path.at(-1)!;
  const required = schemasAt(root, parentPath).some((p) => p.required?.includes(key));
  const s: JsonSchema = { anyOf: here };
  const description = here.map(describe).find(Boolean);
  // A duration's default is held in milliseconds, where a plan's number means seconds: its description says it instead.
  const dflt = valueDetail(s).startsWith('duration') ? undefined : here.map((x) => x.default).find((d) => d !== undefined);
  const facts = [`**${key}**: ${valueDetail(s)}`, required ? 'required' : dflt !== undefined ? `default ${JSON.stringify(dflt)}` : 'optional'];
  return [facts.join(' · '), description].filter(Boolean).join('\n\n');
}

/** The `${…}` references a plan can use: built-ins, `var.NAME` of its variables, and `env:`. */
export function refSuggestions(variables: readonly string[]): RefSuggestion[] {
  return [
    ...BUILTINS.map((b) => ({ ref: b.name, description: `${b.description} (available ${WHEN_TEXT[b.when]})` })),
    ...variables.map((v) => ({ ref: `var.${v}`, description: `the plan variable ${v} (variables.${v}, or --var ${v}=VALUE)` })),
    { ref: 'env:', description: 'an environment variable of the process that starts the release: ${env:NAME}' },
  ];
}

/** The hover text of a reference, or undefined when it is not one the plan owns. */
export function refHover(ref: string, variables: readonly string[]): string | undefined {
  if (ref.startsWith('env:')) return `\${${ref}}: the environment variable ${ref.slice(4)} of the process that starts the release`;
  return refSuggestions(variables)
    .find((r) => r.ref === ref)
    ?.description.replace(/^/, `\${${ref}}: `);
}

/** The `did you mean "X"?` suggestion of a plan problem's message, if it has one. */
export function didYouMean(message: string): string | undefined {
  return /did you mean "([^"]+)"\?/.exec(message)?.[1];
}

/** The variable names declared under `variables:` at the top level (read leniently: the plan may not parse while being typed). */
export function declaredVariables(lines: readonly string[]): string[] {
  const start = lines.findIndex((l) => /^variables\s*:/.test(l));
  if (start < 0) return [];
  const out: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i];
    if (/^\S/.test(l)) break;
    const m = /^ {1,4}([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(l);
    if (m && parseLine(l).indent === parseLine(lines[start + 1] ?? l).indent) out.push(m[1]);
  }
  return out;
}

/** The keys already written in the mapping whose keys start at `column`, around line `lineNo`. */
export function siblingKeys(lines: readonly string[], lineNo: number, column: number): Set<string> {
  const keys = new Set<string>();
  for (let j = lineNo - 1; j >= 0; j--) {
    const l = parseLine(lines[j]);
    if (l.blank) continue;
    if (l.dashes && l.contentIndent === column) {
      // `- key:` opens this list item's mapping: its first key is a sibling, and nothing above is.
      if (l.key) keys.add(l.key);
      break;
    }
    if (l.indent < column || (l.dashes && l.indent === column)) break;
    if (l.indent === column && l.key) keys.add(l.key);
  }
  for (let j = lineNo + 1; j < lines.length; j++) {
    const l = parseLine(lines[j]);
    if (l.blank) continue;
    if (l.indent < column || (l.dashes && l.contentIndent <= column)) break;
    if (l.indent === column && l.key) keys.add(l.key);
  }
  const own = parseLine(lines[lineNo] ?? '');
  if (own.dashes && own.contentIndent === column) return new Set();
  return keys;
}

/**
 * The edit of a "did you mean" quick fix inside a problem's range: each `start`/`end` is an offset into
 * `rangeText` (a reference problem's range is the whole value; only the unknown reference is replaced).
 */
export function didYouMeanEdits(message: string, rangeText: string): { start: number; end: number; text: string }[] {
  const m = /^unknown (?:key|reference|variable) "([^"]+)"; did you mean "([^"]+)"\?/.exec(message);
  if (!m) return [];
  const [, wrong, right] = m;
  const edits: { start: number; end: number; text: string }[] = [];
  for (let i = rangeText.indexOf(wrong); i >= 0; i = rangeText.indexOf(wrong, i + wrong.length)) edits.push({ start: i, end: i + wrong.length, text: right });
  return edits;
}
