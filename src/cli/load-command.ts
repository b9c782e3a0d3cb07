import { parseArgs } from 'node:util';
import { durationMs } from '../core/model/schema-values';
import { SIGNAL_NUMBERS } from '../core/engine/run/stopLatch';
import { LOAD_LIMITS, loadOptionsProblem, parseWriteSpec, startLoad, writeSummaryFile, type LoadOptions } from '../core/monitor/loadTraffic';
import { loadSummaryText, type LoadSummary } from '../core/monitor/loadTally';
import { EXIT } from './args';
import type { Io } from './io';

export const LOAD_HELP = `release-pilot load — steady traffic to your service, every answer counted; rehearse a release under it

Usage: release-pilot load URL --rate N [--duration D] [options]

Sends N requests per second (GET URL) on connections of their own, open loop: a request leaves when it
is due even when the service is slow (at most --concurrency under way; one due beyond that counts as a
failure). Prints the answers by status, the failures, latency p50/p95/max and the longest stretch
without a successful answer.

Options:
  --rate N                 requests per second (above 0, at most ${LOAD_LIMITS.maxRate})
  --duration D             how long: 30s, 2m, 500ms (default: until Ctrl-C)
  --write 'METHOD PATH [BODY]'
                           also send writes, e.g. 'POST /orders {"id":{id},"item":"x"}'; {id} becomes
                           an id of each write's own; a 2xx answer counts the write acknowledged
  --write-ratio R          the share of requests that are writes (default 0.25)
  --check-writes URL       at the end, read each acknowledged write back (URL or path with {id}, e.g.
                           /orders/{id}); one not answered 2xx is lost
  --timeout D              each request's limit, all of it (default ${LOAD_LIMITS.defaultTimeoutMs / 1000}s)
  --concurrency N          requests under way at most (default ${LOAD_LIMITS.defaultConcurrency})
  --workspace DIR          count the traffic by the phase of the newest release of DIR (run it meanwhile)
  --label-header NAME      count answers by who answered, as this header names them (X-Served-By)
  --out FILE               keep the summary as JSON in FILE (every 0.5 s and at the end)
  --json                   print the summary as JSON instead of text
  --help, -h               this help

Failures: connection errors, timeouts, 5xx. Ctrl-C (SIGINT) or SIGTERM stops sending, lets the requests
under way end, reads the writes back and prints the summary; a second one prints it at once.
Exit codes: 0 no failure and no lost write, 1 failures or lost writes, 2 usage, 130/143 stopped by a
signal.
`;

export const LOAD_OPTIONS = {
  rate: { type: 'string' },
  duration: { type: 'string' },
  write: { type: 'string' },
  'write-ratio': { type: 'string' },
  'check-writes': { type: 'string' },
  timeout: { type: 'string' },
  concurrency: { type: 'string' },
  workspace: { type: 'string' },
  'label-header': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The options as the generator takes them, or what is wrong with the command line. */
export function loadOptionsFrom(argv: string[]): LoadOptions | { error: string } {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegatives(argv), allowPositionals: true, options: LOAD_OPTIONS });
  } catch (e) {
    return { error: (e as Error).message };
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1)
    return { error: `load takes one URL, got ${positionals.length ? positionals.map((p) => JSON.stringify(p)).join(' ') : 'none'}` };
  if (v.rate === undefined) return { error: 'load needs --rate N (requests per second)' };
  const number = (text: string | undefined) => (text === undefined ? undefined : /^\s*[-+]?[\d.]+(e[-+]?\d+)?\s*$/i.test(text) ? Number(text) : NaN);
  const duration = (flag: string, text: string | undefined): number | { error: string } | undefined => {
    if (text === undefined) return undefined;
    try {
      return durationMs(/^\d+(\.\d+)?$/.test(text) ? `${text}s` : text);
    } catch {
      return { error: `--${flag} expects a duration such as 30s, 2m or 500ms, got ${JSON.stringify(text)}` };
    }
  };
  const rate = number(v.rate)!;
  if (Number.isNaN(rate)) return { error: `--rate expects a number of requests per second, got ${JSON.stringify(v.rate)}` };
  const d = duration('duration', v.duration);
  const t = duration('timeout', v.timeout);
  if (typeof d === 'object') return d;
  if (typeof t === 'object') return t;
  const ratio = number(v['write-ratio']) ?? 0.25;
  if (v['write-ratio'] !== undefined && v.write === undefined) return { error: '--write-ratio goes with --write' };
  let write;
  if (v.write !== undefined) {
    const w = parseWriteSpec(v.write, ratio);
    if (typeof w === 'string') return { error: w };
    write = w;
  }
  const concurrency = number(v.concurrency);
  const o: LoadOptions = {
    url: positionals[0],
    rate,
    durationMs: d,
    write,
    checkWrites: v['check-writes'],
    timeoutMs: t,
    concurrency,
    workspace: v.workspace,
    labelHeader: v['label-header'],
  };
  const problem = loadOptionsProblem(o);
  return problem ? { error: problem } : o;
}

/** `--rate -5` read as the value -5 (and refused as such), not as an option named 5. */
function joinNegatives(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    const takes = (LOAD_OPTIONS as Record<string, { type: string }>)[name]?.type === 'string';
    if (takes && /^-[\d.]/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** True when the first word of the command line is `load`. */
export const isLoadCommand = (argv: string[]) => argv[0] === 'load';

export async function loadCommand(argv: string[], io: Io): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(LOAD_HELP);
    return 0;
  }
  const o = loadOptionsFrom(argv);
  if ('error' in o) {
    io.err(`release-pilot load: ${o.error}\n(release-pilot load --help)`);
    return EXIT.usage;
  }
  const { values: v } = parseArgs({ args: joinNegatives(argv), allowPositionals: true, options: LOAD_OPTIONS });
  const run = startLoad(o);
  const keep = () => v.out && writeSummaryFile(v.out, run.summary());
  const keeper = v.out ? setInterval(keep, 500) : undefined;
  const progress = setInterval(() => {
    const s = run.summary();
    io.err(`${new Date().toISOString()} sent ${s.sent}, answered ${s.answered}, failures ${s.failures}`);
  }, 5000);
  let signal: string | undefined;
  const print = (s: LoadSummary) => io.out(v.json ? JSON.stringify(s, null, 1) : loadSummaryText(s).join('\n'));
  const onSignal = (sig: NodeJS.Signals) => {
    if (signal) {
      // A second signal: the summary so far, now.
      print(run.summary());
      process.exit(128 + SIGNAL_NUMBERS[sig]);
    }
    signal = sig;
    io.err(
      `\n${sig}: stopping; the requests under way end (at most ${(o.timeoutMs ?? LOAD_LIMITS.defaultTimeoutMs) / 1000} s)${o.checkWrites ? ', then the writes are read back' : ''}`,
    );
    run.stop();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
  try {
    const s = await run.done;
    if (v.out) writeSummaryFile(v.out, s);
    print(s);
    if (signal) return 128 + SIGNAL_NUMBERS[signal];
    return s.failures > 0 || (s.writesCheck?.lost ?? 0) > 0 ? EXIT.failed : 0;
  } finally {
    clearInterval(keeper);
    clearInterval(progress);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, onSignal);
  }
}
