import { JSONPath } from 'jsonpath-plus';
import { fetchText } from '../base/fetchText';
import { decimal, error, failure, ok, type MetricSource, type Sample } from './sample';
import { clip } from '../format';

/**
 * What is wrong with a JSONPath's brackets and quotes, or undefined: jsonpath-plus reads
 * `$.items[` as `$.items`, so an unclosed bracket would silently measure something else.
 */
export function jsonPathProblem(path: string): string | undefined {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[') depth++;
    else if (ch === ']' && --depth < 0) return `an unopened ] at character ${i + 1}`;
  }
  if (quote) return `an unclosed ${quote}`;
  if (depth > 0) return 'an unclosed [';
  if (/\.\.$|(^|[^.])\.$/.test(path)) return 'a path ending with a dot';
  return undefined;
}

/** The plan's `http.field` as JSONPath: `$…` as written; the dotted form (`a.b[0].c`) is `$.` and it. */
export const asJsonPath = (field: string) => (field.startsWith('$') ? field : `$.${field}`);

/** A numeric value of a JSON document served over HTTP, picked by a JSONPath that must match exactly one value. */
export class HttpJsonSource implements MetricSource {
  readonly describe: string;
  private readonly path: string;
  constructor(
    private readonly url: string,
    private readonly field: string,
    private readonly timeoutMs: number,
  ) {
    this.path = asJsonPath(field);
    this.describe = `${field} of ${url}`;
  }

  async sample(signal?: AbortSignal): Promise<Sample> {
    const bad = jsonPathProblem(this.path);
    if (bad) return error(`${this.field} is not a JSONPath: ${bad}`);
    let doc: unknown;
    try {
      const res = await fetchText(this.url, this.timeoutMs, { signal });
      const text = res.text;
      if (!res.ok) return error(`${this.url} answered HTTP ${res.status}`);
      try {
        doc = JSON.parse(text);
      } catch {
        return error(`${this.url} did not return JSON: ${clip(text, 80)}`);
      }
    } catch (e) {
      return failure(e, this.timeoutMs);
    }
    return pickNumber(doc, this.field);
  }
}

/** The one number `field` (JSONPath, or the dotted form) picks in `doc`, as a sample. */
export function pickNumber(doc: unknown, field: string): Sample {
  const bad = jsonPathProblem(asJsonPath(field));
  if (bad) return error(`${field} is not a JSONPath: ${bad}`);
  let found: unknown[];
  try {
    // `safe`: filter expressions run in jsonpath-plus' own evaluator, never as JavaScript.
    found = JSONPath<unknown[]>({ path: asJsonPath(field), json: doc as object, wrap: true, eval: 'safe' });
  } catch (e) {
    return error(`${field} is not a JSONPath jsonpath-plus can evaluate: ${(e as Error).message}`);
  }
  if (found.length === 0) return error(`${field} matches nothing in the response`);
  if (found.length > 1) return error(`${field} matches ${found.length} values in the response (${clip(JSON.stringify(found), 60)}); it must pick exactly one`);
  const cur = found[0];
  if (cur === null) return { value: null, status: 'empty', message: `${field} is null` };
  const n = typeof cur === 'number' ? cur : typeof cur === 'string' ? decimal(cur) : NaN;
  if (Number.isNaN(n))
    return typeof cur === 'string' && cur === 'NaN' ? ok(NaN) : error(`${field} is ${clip(JSON.stringify(cur) ?? 'undefined', 40)}, not a number`);
  return ok(n);
}
