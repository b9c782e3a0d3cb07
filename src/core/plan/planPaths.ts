// Where a path of the plan is: in its YAML text (a node and its range) and in its schema (the keys it accepts), and the nearest name to a misspelt one.
import { type Document, isMap, isPair, isScalar, isSeq, type Node as YamlNode } from 'yaml';
import { distance } from 'fastest-levenshtein';
import type { ZodMiniType } from 'zod/mini';
import { Plan } from '../model/schema';

interface Located {
  exact: boolean;
  value: YamlNode | null;
  keyRange: [number, number];
  valueRange: [number, number];
}

/** Walks the YAML tree along `path`, as deep as it exists. */
export function locate(doc: Document.Parsed, path: (string | number)[]): Located {
  let node: unknown = doc.contents;
  let keyRange: [number, number] = rangeOf(node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { exact: false, value: node, keyRange, valueRange: keyRange };
      keyRange = rangeOf(pair.key);
      node = pair.value;
      if (node === null) return { exact: true, value: null, keyRange, valueRange: keyRange };
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      keyRange = rangeOf(node);
    } else {
      return { exact: false, value: node as YamlNode, keyRange, valueRange: keyRange };
    }
  }
  return { exact: true, value: node as YamlNode, keyRange, valueRange: rangeOf(node, keyRange) };
}

function rangeOf(node: unknown, fallback: [number, number] = [0, 1]): [number, number] {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? [r[0], r[1]] : fallback;
}

/** Keys the schema accepts for the object at `path` (all union members' keys). */
export function knownKeys(path: (string | number)[]): string[] {
  let schemas: unknown[] = [Plan];
  for (const seg of path) schemas = schemas.flatMap((s) => childSchemas(unwrap(s), seg));
  return [...new Set(schemas.flatMap((s) => objectKeys(unwrap(s))))];
}

interface Def {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  element?: unknown;
  options?: unknown[];
  in?: unknown;
  valueType?: unknown;
  items?: unknown[];
  schema?: unknown;
}
// `def` is the public view of a schema's definition (zod/mini's `ZodMiniType.def`), stable across upgrades unlike `_zod`.
const defOf = (s: unknown): Def => (s as ZodMiniType).def;

function unwrap(s: unknown): unknown {
  for (let i = 0; i < 20; i++) {
    const d = defOf(s);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault' || d.type === 'readonly') && d.innerType)
      s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else break;
  }
  return s;
}

function childSchemas(s: unknown, seg: string | number): unknown[] {
  const d = defOf(s);
  if (d.type === 'object' && typeof seg === 'string' && d.shape?.[seg]) return [d.shape[seg]];
  if (d.type === 'array' && typeof seg === 'number' && d.element) return [d.element];
  if (d.type === 'record' && d.valueType) return [d.valueType];
  if (d.type === 'union' && d.options) return d.options.flatMap((o) => childSchemas(unwrap(o), seg));
  return [];
}

function objectKeys(s: unknown): string[] {
  const d = defOf(s);
  if (d.type === 'object' && d.shape) return Object.keys(d.shape);
  if (d.type === 'union' && d.options) return d.options.flatMap((o) => objectKeys(unwrap(o)));
  return [];
}

export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return best !== undefined && bestDist <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
