// The plan's monitoring: guards, metrics and their sources, the window and its baseline. `schema.ts` assembles the plan.
import * as z from 'zod/mini';
import { doc, duration, durationDefault, exactlyOne, COUNT_MAX, ID_RE, int, str } from './schema-parts';
import { AccessLogSource, HttpJsonSource, PrometheusSource, ScrapeSource, StubStatusSource } from './schema-sources';

const Guard = z
  .strictObject({
    max: doc(z.optional(z.number()), 'A sample above this value breaches the guard.'),
    min: doc(z.optional(z.number()), 'A sample below this value breaches the guard.'),
    dropPercent: doc(
      z.optional(z.number().check(z.positive(), z.lte(100))),
      'A sample more than this many percent below the baseline breaches the guard. Without a baseline above 0, the rule cannot be judged and the verdict is inconclusive.',
    ),
    risePercent: doc(
      z.optional(z.number().check(z.positive())),
      'A sample more than this many percent above the baseline breaches the guard. Without a baseline above 0, the rule cannot be judged and the verdict is inconclusive.',
    ),
    mannWhitney: doc(
      z.optional(z.enum(['increase', 'decrease', 'either'])),
      "Compares the window's samples with the baseline's at the end of the window (Mann-Whitney U test, p < 0.05). `increase`: fails when the window is higher; `decrease`: lower; `either`: different. It needs a captured baseline and at least 10 usable samples on each side, otherwise the verdict is inconclusive.",
    ),
  })
  .check(
    z.refine((g) => Object.values(g).some((v) => v !== undefined), {
      message: 'a guard needs at least one rule: max, min, dropPercent, risePercent or mannWhitney',
    }),
  );
export type Guard = z.infer<typeof Guard>;

const Evidence = z.strictObject({
  metric: doc(
    z.string().check(z.regex(ID_RE, 'expected the id of a request-rate metric')),
    "The id of the metric whose sample is the evidence: the rate of the requests this metric judges. For a canary's error ratio, that is the canary's own responses per second. It may be this metric itself. A sample of it that is 0, negative, not a number or not taken leaves the sample inconclusive.",
  ),
  min: doc(
    z.optional(z.number().check(z.positive())),
    "The least evidence a sample stands on, in the evidence metric's unit; below it the sample is inconclusive.",
  ),
  total: doc(
    z.optional(z.string().check(z.regex(ID_RE, 'expected the id of the metric of all the requests'))),
    "The id of the metric of all the requests (the whole backend's rate). During a canary analysis at weight w %, the evidence must reach `minShare` × w % of it: a canary that served less than its weight implies is inconclusive, never a pass.",
  ),
  minShare: doc(
    z._default(z.number().check(z.positive(), z.lte(1)), 0.5),
    'The share of the requests its weight implies a canary must have served (with `total`), between 0 and 1.',
  ),
});
export type Evidence = z.infer<typeof Evidence>;

export const Metric = z
  .strictObject({
    id: doc(
      z.string().check(z.regex(ID_RE, 'expected an id of letters, digits, - _ .')),
      "The metric's id: letters, digits, `-`, `_`, `.`. The journal, the report and `baseline.fixed` name it.",
    ),
    title: doc(z.optional(z.string()), "The metric's name on the monitoring dashboard. Default: the id."),
    unit: doc(z.optional(z.string()), 'The unit shown beside the values on the dashboard, such as `%`, `ms` or `req/s`.'),
    prometheus: doc(z.optional(PrometheusSource), 'Source: a PromQL instant query to a Prometheus server.'),
    scrape: doc(z.optional(ScrapeSource), "Source: a Prometheus text-format endpoint (an app's `/metrics`), read directly, without a Prometheus server."),
    http: doc(z.optional(HttpJsonSource), 'Source: a number in a JSON document served over HTTP.'),
    accessLog: doc(
      z.optional(AccessLogSource),
      'Source: an access log (nginx or Apache combined, or JSON lines): request rate, error ratio or a request-time percentile since the last sample.',
    ),
    stubStatus: doc(z.optional(StubStatusSource), "Source: nginx's `stub_status` page: connections now, or requests and connections per second."),
    command: doc(
      z.optional(z.string()),
      "Source: a command whose standard output ends with the number. The last word it prints is the sample (`0.02`, `17`; `NaN` is an unusable sample); a non-zero exit or a word that is not a number is an error sample, nothing printed an empty one. It runs in bash in the workspace folder with Release Pilot's environment, once per sample, within `timeout`. Plan references are resolved.",
    ),
    timeout: durationDefault(5_000, 'How long one sample may take; a sample not taken in time is an error sample.'),
    compareTo: doc(
      z.optional(z.string().check(z.regex(ID_RE, 'expected the id of another metric'))),
      "The id of another metric this one is judged against, instead of its baseline. The percentage rules (`risePercent`, `dropPercent`) compare each sample with that metric's sample taken at the same moment, and `mannWhitney` compares the two windows. For a canary: its error ratio against the stable hosts'. `max` and `min` stay absolute.",
    ),
    evidence: doc(
      z.optional(Evidence),
      'The traffic a sample must stand on to be judged at all. A ratio over no requests (a `clamp_min` denominator, a canary that took no traffic) is no measurement: below its evidence a sample is inconclusive, never a pass, and counts as an unusable sample (`consecutiveErrorLimit`; a canary analysis needs at least half of its samples conclusive).',
    ),
    guard: doc(Guard, 'The rules the samples must keep: thresholds judged on each sample, and a statistical rule judged at the end of the window.'),
  })
  .check(exactlyOne(['prometheus', 'scrape', 'http', 'accessLog', 'stubStatus', 'command'], 'a metric needs exactly one source'));
export type Metric = z.infer<typeof Metric>;

export const Monitoring = z
  .strictObject({
    window: doc(
      duration(),
      'How long production is watched after verification, before the announcement: `window / interval` samples. A sample slower than the interval delays the next ones; the window still takes its samples, but ends at most one interval late. The spec asks for 15 to 30 minutes; a shorter window on a production environment is warned about, unless `shortWindowReason` says why.',
    ),
    interval: durationDefault(15_000, 'The time between two samples of every metric, in the window and while the baseline is captured.'),
    warmup: doc(
      z.optional(duration({ zero: 'judges every sample' })),
      'How long after a switch samples are journaled but not judged. The switch is the start of the monitoring window (the traffic is on the new version by then) and each canary weight set. A sample is in the warm-up when its scheduled time, counted in `interval`s from that start, is at or before `warmup`: the default, one `interval`, leaves exactly the first sample of each watch unjudged (the 502s of the switch itself); `0` judges every sample; `30s` with a 10s interval leaves three. Warm-up samples count toward no guard, no error limit and no verdict. A window or a canary analysis must be long enough to confirm a breach after its warm-up: `window` at least `warmup` plus `failureLimit` intervals, `analysis` at least `warmup` plus the intervals its limits need.',
    ),
    baseline: doc(
      z
        .strictObject({
          capture: doc(
            z.optional(duration()),
            'Capture the baseline by sampling every metric for this long, every `interval`, before production is touched; the baseline is the mean. It runs at the start of the backup phase when it has steps, else of the migration phase when it has steps, else of the deploy.',
          ),
          fixed: doc(
            z.optional(z.record(z.string(), z.number())),
            'Baseline values written in the plan, by metric id; a metric not named has no baseline. A statistical rule cannot be judged against a fixed value.',
          ),
        })
        .check(z.refine((b) => (b.capture !== undefined) !== (b.fixed !== undefined), { message: 'baseline needs exactly one of capture or fixed' })),
      'The values that percentage and statistical rules compare the window with: exactly one of `capture` or `fixed`.',
    ),
    failureLimit: doc(
      z._default(int(1, COUNT_MAX), 1),
      'How many breaches of a guard in a row confirm it; a confirmed breach triggers `onBreach`. A good sample in between starts the count again.',
    ),
    consecutiveErrorLimit: doc(
      z._default(int(1, COUNT_MAX), 4),
      'How many unusable samples of a metric in a row fail it, as a confirmed breach does. An error, a timeout, NaN, an empty answer or no traffic are unusable.',
    ),
    onBreach: doc(
      z._default(z.enum(['rollback', 'prompt', 'pause']), 'rollback'),
      'What a confirmed breach does. `rollback`: the rollback starts at once. `prompt`: a person chooses roll back, continue watching or pause (the CLI without a terminal rolls back). `pause`: the release pauses. A statistical failure at the end of the window rolls back, or pauses with `pause`.',
    ),
    metrics: doc(
      z.array(Metric).check(z.minLength(1)),
      'The metrics watched, each with exactly one source (`prometheus`, `scrape`, `http`, `accessLog`, `stubStatus` or `command`) and a guard.',
    ),
    shortWindowReason: doc(
      z.optional(str()),
      "Why a production window is shorter than the spec's 15 minutes (a demo, a tiny service); it silences the warning.",
    ),
  })
  .check(
    z.superRefine((m, ctx) => {
      const ids = m.metrics.map((x) => x.id);
      for (const id of Object.keys(m.baseline.fixed ?? {}))
        if (!ids.includes(id))
          ctx.addIssue({
            code: 'custom',
            path: ['baseline', 'fixed', id],
            input: id,
            message: `no metric has the id ${id}, so this baseline value would be ignored; expected one of: ${ids.join(', ')}`,
          });
      const warmup = m.warmup ?? m.interval;
      if (m.window < warmup + m.interval * m.failureLimit)
        ctx.addIssue({
          code: 'custom',
          path: ['window'],
          input: m.window,
          message: `a window of ${m.window / 1000} s judges ${Math.max(0, Math.floor((m.window - warmup) / m.interval))} sample(s) after its warm-up of ${warmup / 1000} s (every ${m.interval / 1000} s); confirming a breach takes failureLimit ${m.failureLimit}, so it needs at least ${(warmup + m.interval * m.failureLimit) / 1000} s`,
        });
      m.metrics.forEach((x, i) => {
        if (ids.indexOf(x.id) !== i)
          ctx.addIssue({
            code: 'custom',
            path: ['metrics', i, 'id'],
            input: x.id,
            message: `metric id ${x.id} is used twice; the journal and report tell metrics apart by id`,
          });
        for (const [key, ref] of [
          ['metric', x.evidence?.metric],
          ['total', x.evidence?.total],
        ] as const)
          if (ref !== undefined && !ids.includes(ref))
            ctx.addIssue({
              code: 'custom',
              path: ['metrics', i, 'evidence', key],
              input: ref,
              message: `no metric has the id ${ref}; expected one of: ${ids.join(', ')}`,
            });
        if (x.evidence?.total !== undefined && x.evidence.total === x.evidence.metric)
          ctx.addIssue({
            code: 'custom',
            path: ['metrics', i, 'evidence', 'total'],
            input: x.evidence.total,
            message: 'evidence.total must be the metric of all the requests, not the evidence metric itself',
          });
        if (x.compareTo === undefined) return;
        if (x.guard.max === undefined && x.guard.min === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['metrics', i, 'guard'],
            input: x.guard,
            message: `a metric judged against ${x.compareTo} needs an absolute max or min too: when ${x.compareTo} is 0 or has no sample, only that can judge it`,
          });
        if (x.compareTo === x.id)
          ctx.addIssue({ code: 'custom', path: ['metrics', i, 'compareTo'], input: x.compareTo, message: 'a metric cannot be compared with itself' });
        else if (!ids.includes(x.compareTo))
          ctx.addIssue({
            code: 'custom',
            path: ['metrics', i, 'compareTo'],
            input: x.compareTo,
            message: `no metric has the id ${x.compareTo}; expected one of: ${ids.filter((id) => id !== x.id).join(', ') || '(no other metric)'}`,
          });
      });
    }),
  );
export type Monitoring = z.infer<typeof Monitoring>;
