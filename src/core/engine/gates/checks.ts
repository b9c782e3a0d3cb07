import * as fs from 'node:fs';
import * as path from 'node:path';
import { glob } from 'tinyglobby';
import { runShort } from '../../exec/short';
import { describeFetchFailure, fetchText } from '../../base/fetchText';
import type { Acceptance, ChecklistItem, HttpCheck, LogCheck } from '../../model/schema';
import { headerValueProblem } from '../../model/schema-parts';
import { checkGitGate } from '../../git/gate';
import type { SecretMasker } from '../../exec/mask';
import { plainText } from '../../base/text';
import { decideVerdict } from './acceptanceVerdict';
import { clip } from '../../format';

export interface CheckOutcome {
  ok: boolean;
  detail: string;
}

export async function checkAcceptance(
  a: Acceptance,
  cwd: string,
  masker: SecretMasker,
  resolve: (s: string) => string,
  signal?: AbortSignal,
  /** The plan's env, resolved. */
  env: Record<string, string> = {},
): Promise<CheckOutcome & { said: string; source: string }> {
  let said = '';
  let source = '';
  try {
    if (a.file) {
      source = `file ${a.file}`;
      said = fs.readFileSync(path.resolve(cwd, resolve(a.file)), 'utf8');
    } else if (a.command) {
      source = `command ${a.command}`;
      const r = await runShort(resolve(a.command), { cwd, timeoutMs: 60_000, signal, env });
      said = r.all;
      if (r.exitCode !== 0) return { ok: false, said: summarize(masker.mask(said)), source, detail: `the verdict command failed (exit code ${r.exitCode})` };
    } else if (a.url) {
      source = `url ${a.url}`;
      const res = await fetchText(resolve(a.url), 15_000);
      said = res.text;
      if (!res.ok) return { ok: false, said: summarize(masker.mask(said)), source, detail: `the verdict URL answered HTTP ${res.status}` };
    }
  } catch (e) {
    return { ok: false, said: '', source, detail: `cannot read the acceptance verdict from ${source}: ${masker.mask((e as Error).message)}` };
  }
  // Masked before it is read: deciding normalises spaces, and a normalised secret no longer matches.
  said = masker.mask(said);
  const d = decideVerdict(said, a.expect);
  // What is recorded as said is the line that decided: the reader sees the very words that refused or accepted.
  const shown = d.line ? summarize(masker.mask(d.line.text)) : summarize(masker.mask(said));
  const reason = masker.mask(d.reason);
  return {
    ok: d.ok,
    said: shown,
    source,
    detail: d.ok ? `verdict "${a.expect}" from ${source}: ${reason}` : `the verdict from ${source} is not a go: ${reason}`,
  };
}

function summarize(text: string): string {
  const t = plainText(text).trim().replace(/\s+/g, ' ');
  return clip(t, 200);
}

export async function runCheck(
  item: ChecklistItem,
  cwd: string,
  version: string,
  tagPrefix: string,
  masker: SecretMasker,
  resolve: (s: string) => string,
  /**
   * `env`: the plan's env as written; the command gets it resolved, over `read` (the variables the
   * plan reads as `${env:NAME}`, which the command reads as bash's `${NAME}`). `versionOrigin`: where an `auto` version came from.
   */
  {
    signal,
    redeploy = false,
    env = {},
    read = {},
    versionOrigin,
  }: { signal?: AbortSignal; redeploy?: boolean; env?: Record<string, string>; read?: Record<string, string>; versionOrigin?: string } = {},
): Promise<CheckOutcome> {
  if (item.git) return checkGitGate(cwd, { ...item.git, wantedTag: `${tagPrefix}${version.replace(/^v/, '')}`, redeploy, versionOrigin });
  if (item.files) {
    const missing: string[] = [];
    const found: string[] = [];
    for (const pattern of item.files) {
      const hits = await glob(resolve(pattern), { cwd, dot: true, onlyFiles: true });
      if (hits.length === 0) missing.push(pattern);
      else found.push(...hits);
    }
    if (missing.length) return { ok: false, detail: `nothing matches ${missing.join(', ')}` };
    return { ok: true, detail: `${found.length} file(s): ${found.slice(0, 5).join(', ')}${found.length > 5 ? ' …' : ''}` };
  }
  if (item.run) {
    const r = await runShort(resolve(item.run), {
      cwd,
      timeoutMs: 120_000,
      signal,
      env: { ...read, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, resolve(v)])) },
    });
    const out = summarize(masker.mask(r.all));
    return r.exitCode === 0
      ? { ok: true, detail: out || 'exit code 0' }
      : { ok: false, detail: `${r.timedOut ? 'timed out after 120 s' : `exit code ${r.exitCode ?? 'none (killed)'}`}${out ? `: ${out}` : ''}` };
  }
  return { ok: false, detail: 'waiting for a person to tick it' };
}

export interface HttpOutcome extends CheckOutcome {
  status?: number;
  latencyMs?: number;
}

/** `resolve` gives the plan references of the headers and body their values. */
export async function httpCheck(c: HttpCheck, url: string, signal: AbortSignal, resolve: (text: string) => string = (t) => t): Promise<HttpOutcome> {
  const t0 = performance.now();
  try {
    const headers = c.headers && Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, resolve(v)]));
    // A value from `${env:…}` is known only now: named by its header, never quoted (it may be a secret).
    for (const [k, v] of Object.entries(headers ?? {})) {
      const bad = headerValueProblem(v);
      if (bad)
        return { ok: false, detail: `header ${k}: ${bad.replace('the header value', 'its value, plan references resolved,')}; the request was not sent` };
    }
    const body = c.requestBody === undefined ? undefined : resolve(c.requestBody);
    const res = await fetchText(url, c.timeout, { method: c.method, redirect: 'manual', headers, body, signal });
    const text = res.text;
    const latencyMs = Math.round(performance.now() - t0);
    const problems: string[] = [];
    if (res.status !== c.status) problems.push(`HTTP ${res.status}, expected ${c.status}`);
    if (c.body && !new RegExp(c.body).test(text)) problems.push(`body does not match /${c.body}/`);
    if (c.maxLatency !== undefined && latencyMs > c.maxLatency) problems.push(`took ${latencyMs} ms, limit ${c.maxLatency} ms`);
    return {
      ok: problems.length === 0,
      status: res.status,
      latencyMs,
      detail: problems.length ? problems.join('; ') : `HTTP ${res.status} in ${latencyMs} ms`,
    };
  } catch (e) {
    if (signal.aborted) return { ok: false, detail: `${url}: interrupted before an answer` };
    const f = describeFetchFailure(e, c.timeout);
    return { ok: false, detail: `${url}: ${f.timedOut ? f.detail : f.reason}` };
  }
}

export function scanLog(output: string, check: LogCheck): CheckOutcome {
  const hits: string[] = [];
  const res = check.errorPatterns.map((p) => new RegExp(p));
  for (const line of plainText(output).split('\n')) if (res.some((r) => r.test(line))) hits.push(line.trim());
  return hits.length
    ? { ok: false, detail: `${hits.length} error line(s), first: ${clip(hits[0], 200)}` }
    : { ok: true, detail: `no line matches ${check.errorPatterns.join(', ')}` };
}
