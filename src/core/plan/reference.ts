import { BUILTINS, WHEN_TEXT } from './scope';

/**
 * docs/plan-reference.md, written from the plan's JSON Schema (planJsonSchema()) so that the
 * reference cannot drift from what validation accepts: `npm run docs:plan` writes it, and a unit
 * test fails when the file and the schema differ.
 */

/** The part of JSON Schema that z.toJSONSchema writes for the plan. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  minItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** A key of the plan: its dotted path (`[]` for the items of a list), its schema, whether its object requires it, and its own keys. */
export interface PlanKey {
  path: string;
  schema: JsonSchema;
  required: boolean;
  keys: PlanKey[];
}

/** The keys of a node: an object's, or those of the objects a list holds. */
function keysOf(node: JsonSchema, path: string): PlanKey[] {
  const object = objectOf(node);
  if (!object) return (node.anyOf ?? []).flatMap((branch) => keysOf(branch, path));
  const prefix = object === node ? (path ? `${path}.` : '') : `${path}${suffixOf(node, object)}.`;
  return Object.entries(object.properties ?? {}).map(([key, child]) => ({
    path: prefix + key,
    schema: child,
    required: object.required?.includes(key) ?? false,
    keys: keysOf(child, prefix + key),
  }));
}

/** The top-level keys of the plan, each with its own keys. */
export function planKeys(schema: JsonSchema): PlanKey[] {
  return keysOf(schema, '');
}

/** Every key of the plan, parents before their children, in the schema's order. */
export function allKeys(schema: JsonSchema): PlanKey[] {
  const flat = (ks: PlanKey[]): PlanKey[] => ks.flatMap((k) => [k, ...flat(k.keys)]);
  return flat(planKeys(schema));
}

/** The keys that have no description, by path. */
export function undocumentedKeys(schema: JsonSchema): string[] {
  return allKeys(schema)
    .filter((k) => !k.schema.description?.trim())
    .map((k) => k.path);
}

/** The first sentence of a description: what an editor shows on hover. */
export function firstSentence(description: string): string {
  return /^.+?[.!?](?=\s|$)/s.exec(description.trim())?.[0] ?? description.trim();
}

/** The object whose keys a node documents: the node itself, the items of a list of objects, or the values of a map of objects. */
function objectOf(node: JsonSchema): JsonSchema | undefined {
  if (node.properties) return node;
  if (node.items?.properties) return node.items;
  if (typeof node.additionalProperties === 'object' && node.additionalProperties.properties) return node.additionalProperties;
  return undefined;
}

/** How a path names one of a node's objects: `[]` for a list's item, `.<name>` for a map's value. */
const suffixOf = (node: JsonSchema, object: JsonSchema) => (object === node.items ? '[]' : '.<name>');

const DURATION_PATTERN = String.raw`^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$`;

function isDuration(s: JsonSchema): boolean {
  return s.anyOf?.length === 2 && s.anyOf.some((b) => b.type === 'number') && s.anyOf.some((b) => b.pattern === DURATION_PATTERN);
}

const code = (v: unknown) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;

/** The type of a value, in words. */
function typeText(s: JsonSchema): string {
  if (isDuration(s)) return 'duration';
  if (s.enum) return `one of ${s.enum.map(code).join(', ')}`;
  if (s.const !== undefined) return code(s.const);
  if (s.anyOf) return s.anyOf.map(typeText).join(', or ');
  if (s.prefixItems) return `[${s.prefixItems.map(typeText).join(', ')}]`;
  switch (s.type) {
    case 'object':
      if (s.properties) return 'object';
      if (typeof s.additionalProperties === 'object')
        return `map of ${s.propertyNames ? typeText(s.propertyNames) : 'string'} to ${typeText(s.additionalProperties)}`;
      return 'object';
    case 'array':
      return `list of ${s.items ? (s.items.properties ? 'objects' : typeText(s.items)) : 'values'}${s.minItems ? ` (at least ${s.minItems})` : ''}`;
    case 'string':
      if (s.format === 'semver') return 'semantic version (`1.4.0`, `v2.0.0-rc.1`)';
      return `${s.minLength ? 'non-empty ' : ''}string${s.pattern ? ` matching ${code(s.pattern)}` : ''}`;
    case 'integer':
    case 'number': {
      const bounds = [
        // z.int() bounds every integer to the safe range: not worth a word.
        s.minimum !== undefined && s.minimum > Number.MIN_SAFE_INTEGER ? `≥ ${s.minimum}` : '',
        s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : '',
        s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? `≤ ${s.maximum}` : '',
        s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : '',
      ].filter(Boolean);
      return `${s.type}${bounds.length ? ` ${bounds.join(', ')}` : ''}`;
    }
    default:
      return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  }
}

/** Text for a table cell: one line, pipes escaped. */
const cell = (text: string) => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
const anchor = (path: string) => path.replace(/\[\]|\.<name>/g, '');
const lastKey = (path: string) => path.slice(path.lastIndexOf('.') + 1);

function presence(k: PlanKey): string {
  if (k.required) return '**required**';
  if (k.schema.default !== undefined) return `default ${code(k.schema.default)}`;
  return 'optional';
}

function table(keys: PlanKey[]): string[] {
  const rows = keys.map((k) => {
    const name = k.keys.length ? `[${code(lastKey(k.path))}](#${anchor(k.path)})` : code(lastKey(k.path));
    return `| ${name} | ${cell(typeText(k.schema))} | ${presence(k)} | ${cell(k.schema.description ?? '')} |`;
  });
  return ['| Key | Type | Required / default | Description |', '| --- | --- | --- | --- |', ...rows];
}

/**
 * The section of a key: its description, the table of its keys, then its objects' sections. An
 * object whose keys a section already showed (a step, a health check) points there instead.
 */
function section(k: PlanKey, level: number, shown: Map<string, string>): string[] {
  const object = objectOf(k.schema);
  const lines = [
    `<a id="${anchor(k.path)}"></a>`,
    '',
    `${'#'.repeat(level)} ${code(object && object !== k.schema ? `${k.path}${suffixOf(k.schema, object)}` : k.path)}`,
    '',
  ];
  lines.push(`${cell(typeText(k.schema))} · ${presence(k)}`, '');
  if (k.schema.description) lines.push(k.schema.description, '');
  if (!object) return lines;
  const same = JSON.stringify([object.properties, object.required]);
  const first = shown.get(same);
  const item = object === k.schema.items ? 'item' : 'value';
  if (first) return [...lines, `${object === k.schema ? 'The same keys' : `Each ${item} has the same keys`} as [${code(first)}](#${anchor(first)}).`, ''];
  shown.set(same, object === k.schema ? k.path : `${k.path}${suffixOf(k.schema, object)}`);
  if (object !== k.schema) lines.push(`Each ${item}:`, '');
  lines.push(...table(k.keys), '');
  for (const c of k.keys) if (c.keys.length) lines.push(...section(c, Math.min(level + 1, 3), shown));
  return lines;
}

export function planReference(schema: JsonSchema): string {
  const top = planKeys(schema);
  const lines = [
    '# Release plan reference',
    '',
    "<!-- Generated from the plan's schema (src/core/model/schema.ts) by `npm run docs:plan`; do not edit by hand: a unit test fails when this file and the schema differ. -->",
    '',
    'Every key of a release plan (`.release/plan.yaml`): its type, whether it is required or its default, and what it does.',
    '`release-pilot schema` prints the same schema as JSON Schema, and `release-pilot validate` checks a plan against it.',
    '',
    `Required sections: ${top
      .filter((k) => k.required)
      .map((k) => `[${code(k.path)}](#${k.path})`)
      .join(', ')}. Optional: ${top
      .filter((k) => !k.required)
      .map((k) => `[${code(k.path)}](#${k.path})`)
      .join(', ')}.`,
    '',
    '## Durations',
    '',
    'A duration is a number and a unit, `250ms`, `30s`, `5m`, `1h`, `7d` (`1.5m` too), or a plain number of seconds (`90`, `0.5`). A timeout, an interval, a window or a budget is above 0 (a key that takes `0` says what it means) and at most `2147483647ms` (about 24.8 days, the longest wait a timer can hold); a longer one is refused, not cut short.',
    '',
    '## References',
    '',
    'Commands, URLs, queries and step environments may use `${…}` references, resolved before the command runs. Each key below says where they are resolved; elsewhere a value is used as written.',
    'A `${…}` that is not one of these forms is left to the shell (`${HOME}`, `${1:-x}`).',
    '',
    '| Reference | Value | Where it has a value |',
    '| --- | --- | --- |',
    "| `${env:NAME}` | the environment variable NAME of Release Pilot's process; its value is masked in every output | wherever references are resolved |",
    '| `${var.NAME}` | the plan variable NAME, from `variables` or `--var NAME=VALUE` | wherever references are resolved |',
    ...BUILTINS.map((b) => `| ${code(`\${${b.name}}`)} | ${cell(b.description)} | ${cell(WHEN_TEXT[b.when])} |`),
    '',
  ];
  const shown = new Map<string, string>();
  for (const k of top) lines.push(...section(k, 2, shown));
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
