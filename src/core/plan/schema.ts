// zod/mini: the same schemas and issues as zod's classic API, tree-shakable (26 KB where the classic
// namespace brings 440 KB into every bundle).
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

const str = () => z.string().check(z.minLength(1));
const int = (min: number, max?: number) => z.int().check(...(max === undefined ? [z.gte(min)] : [z.gte(min), z.lte(max)]));

/**
 * Documents a key of the plan in the JSON Schema (dist/plan.schema.json): editor hovers show the
 * first sentence, docs/plan-reference.md the whole text. Metadata only: validation is unchanged.
 */
function doc<T extends z.ZodMiniType>(schema: T, description: string): T {
  z.globalRegistry.add(schema, { description });
  return schema;
}

/** Durations are written as `90s`, `5m`, `1h`, `250ms`, or a number of seconds; they load as milliseconds (defaults are given in milliseconds: zod applies them after the transform). */
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
export const Duration = z.pipe(
  z.union([z.number().check(z.gte(0)), z.string().check(z.regex(DURATION_RE, 'expected a duration such as 30s, 5m or 1h'))]),
  z.transform((v: number | string) => durationMs(v)),
);

/**
 * Defaults as a plan writes them, for keys whose value transforms (a duration, or a list or object
 * that holds one): zod leaves such a default out of an input JSON Schema.
 */
const WRITTEN_DEFAULTS = new Map<unknown, unknown>();
function writtenDefault<T>(schema: T, written: unknown): T {
  WRITTEN_DEFAULTS.set(schema, written);
  return schema;
}
function durationDefault(ms: number, description: string) {
  return writtenDefault(doc(z._default(Duration, ms), description), durationText(ms));
}

/** Milliseconds as a plan writes them: `250ms`, `10s`, `5m`, `1h`. */
export function durationText(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

export function durationMs(v: number | string): number {
  if (typeof v === 'number') return Math.round(v * 1000);
  const m = DURATION_RE.exec(v.trim());
  if (!m) throw new Error(`not a duration: ${v}`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

const ENV_REF_RE = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;
const SECRET_NAME_RE = /(pass(word)?|secret|token|api[_-]?key|private[_-]?key|credential)/i;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const Env = z.record(z.string().check(z.regex(NAME_RE, 'expected an environment variable name')), z.string()).check(
  z.superRefine((env, ctx) => {
    for (const [k, v] of Object.entries(env)) {
      if (SECRET_NAME_RE.test(k) && !ENV_REF_RE.test(v.trim())) {
        ctx.addIssue({
          code: 'custom',
          path: [k],
          input: v,
          message: `"${k}" looks like a secret: write it as \${env:NAME} and keep the value out of the plan`,
        });
      }
    }
  }),
);

export const Step = z.strictObject({
  name: doc(
    z.optional(str()),
    "The step's name in the tree, the journal and the report. Default: the command itself, shortened to 60 characters. Plan references are resolved.",
  ),
  run: doc(
    str(),
    "The command, run by bash in the workspace folder (or `cwd`) with Release Pilot's environment plus `env`; exit code 0 passes. Plan references (`${env:NAME}`, `${var.NAME}`, `${release.version}`…) are resolved before bash sees the text; any other `${…}` is left to the shell. Output goes to the step's log under `.release/runs/<run-id>/logs` and to the terminal.",
  ),
  cwd: doc(z.optional(z.string()), 'The folder the step runs in, relative to the workspace. Default: the workspace folder. Used as written (no references).'),
  env: doc(
    z.optional(Env),
    "Environment variables for this step, added over Release Pilot's own environment. Values may use plan references: `${env:NAME}`, `${var.NAME}`, the built-in names. A name that looks like a secret (password, secret, token, api key, private key, credential) must take its value from `${env:NAME}`, so the value stays out of the plan.",
  ),
  timeout: doc(
    z.optional(Duration),
    'How long the step may run before it is ended and fails. Its process group gets SIGTERM, then SIGKILL 3 s later. Default: 15m; in `rollback.steps`, what is left of `rollback.budget`.',
  ),
  production: doc(
    z.optional(z.boolean()),
    'Ask for a confirmation naming the environment before this step runs. The CLI runs it only with `--yes` or when a person at the terminal says yes; a step not confirmed pauses the release.',
  ),
});
export type Step = z.infer<typeof Step>;

const Steps = z.array(Step);
const noSteps = () => writtenDefault(z._default(Steps, []), []);

const HttpCheck = z.strictObject({
  name: doc(
    z.optional(z.string()),
    "The check's name in the tree and the report; a health check does not use it (it is named after its colour or target). Default: the method and the URL.",
  ),
  url: doc(str(), 'The URL requested. Plan references are resolved.'),
  method: doc(z._default(z.enum(['GET', 'HEAD', 'POST']), 'GET'), 'The HTTP method of the request; no request body is sent.'),
  status: doc(z._default(int(100, 599), 200), 'The HTTP status the response must have, exactly. Redirects are not followed: a 301 is compared as 301.'),
  body: doc(
    z.optional(z.string()),
    'A regular expression the response body must match. JavaScript syntax, case-sensitive, matched anywhere in the body (anchor it with `^…$` for the whole body).',
  ),
  maxLatency: doc(z.optional(Duration), 'The longest the response may take, body included; a slower answer fails the check. Default: no limit.'),
  timeout: durationDefault(10_000, 'How long to wait for the response; no answer in time fails the attempt.'),
});
export type HttpCheck = z.infer<typeof HttpCheck>;

/** One schema per use, so each carries its own description. */
const healthCheck = (description: string) =>
  doc(
    z
      .strictObject({
        http: doc(z.optional(HttpCheck), 'An HTTP request that must get the expected answer.'),
        run: doc(
          z.optional(z.string()),
          'A command that passes when it exits 0: bash in the workspace folder, at most 30 s per attempt. Plan references are resolved.',
        ),
        retries: doc(z._default(int(0), 10), 'How many more attempts are made after a failed one; the check fails when the last attempt fails.'),
        interval: durationDefault(1_000, 'The pause between two attempts.'),
      })
      .check(z.refine((h) => Boolean(h.http) !== Boolean(h.run), { message: 'a health check needs exactly one of http or run' })),
    description,
  );
export type HealthCheck = z.infer<ReturnType<typeof healthCheck>>;

const LogCheck = z.strictObject({
  name: doc(z.optional(z.string()), "The check's name in the tree and the report. Default: `Log scan: ` and the command."),
  run: doc(
    str(),
    "A command that prints the logs to scan, such as `kubectl logs deploy/app --since=10m`. It runs like a step (bash in the workspace folder, Release Pilot's environment, 15m timeout); it fails when the command fails, and its output is scanned when it passes.",
  ),
  errorPatterns: doc(
    z._default(z.array(z.string()).check(z.minLength(1)), ['ERROR', 'FATAL', 'panic']),
    'Regular expressions that mark an error line; any output line that matches one fails the check. JavaScript syntax, case-sensitive, matched anywhere in the line (colour codes are removed first).',
  ),
});
export type LogCheck = z.infer<typeof LogCheck>;

const Phase = z.strictObject({
  steps: doc(
    noSteps(),
    "The phase's steps, run one after the other. When a step fails, the release asks what to do: retry, roll back (once production was touched), pause, or waive it with a reason. A phase without steps is skipped.",
  ),
});

const BlueGreen = z.strictObject({
  colors: doc(
    z._default(z.tuple([z.string(), z.string()]), ['blue', 'green']),
    'The names of the two colours. The one `active` prints is live (`${deploy.active}`); the release deploys to the other one (`${deploy.color}`).',
  ),
  active: doc(
    str(),
    'A command that prints the colour serving traffic now. It runs once before the go/no-go question (bash in the workspace folder, 30 s); its trimmed output must be one of `colors`, otherwise the release is aborted. The colour references have no value here.',
  ),
  deploy: doc(Steps.check(z.minLength(1)), 'Steps that deploy the new version to the idle colour, `${deploy.color}`, while the live one keeps serving.'),
  healthCheck: healthCheck('Checks the idle colour after `deploy` and before `switch`. When it fails, the release asks: retry, roll back, pause or waive.'),
  switch: doc(Steps.check(z.minLength(1)), 'Steps that move the traffic to `${deploy.color}`; they run once its health check passed.'),
  retire: doc(
    noSteps(),
    "Steps that retire the old colour; they run at the start of the next release's deploy, not in this release. The old colour stays up after the release so that a rollback is a switch to a running instance (as Argo Rollouts keeps the old ReplicaSet for scaleDownDelaySeconds). The next release of this workspace runs these steps before it deploys to that colour, when the last release that reached its deploy was released; in them `${deploy.active}` is the old colour to retire and `${deploy.color}` the one that went live.",
  ),
});

const Rolling = z.strictObject({
  targets: doc(
    z.array(str()).check(z.minLength(1)),
    'The hosts or instances to deploy to, in order. Each one in turn is `${target}` in `steps` and `healthCheck`.',
  ),
  maxUnavailable: doc(
    z._default(int(1), 1),
    "How many targets are updated per batch. A batch runs every target's steps, then every target's health check, before the next batch starts.",
  ),
  steps: doc(Steps.check(z.minLength(1)), 'Steps run for each target, one target after the other, with `${target}` set to it.'),
  healthCheck: healthCheck("Checks each target of a batch after the batch's steps. A failure rolls the release back at once, without asking."),
});

const DeployPhase = z
  .strictObject({
    strategy: doc(
      z._default(z.enum(['blue-green', 'rolling', 'steps']), 'steps'),
      'How the new version reaches production. `steps`: the deploy phase runs its own `steps`. `blue-green`: deploy to the idle colour, check its health, switch the traffic to it (needs `blueGreen`). `rolling`: update `rolling.targets` batch by batch, each checked (needs `rolling`).',
    ),
    blueGreen: doc(
      z.optional(BlueGreen),
      'The blue-green deploy: two colours, one live; the new version goes to the idle one, which takes the traffic once healthy. Needed by `strategy: blue-green`.',
    ),
    rolling: doc(z.optional(Rolling), 'The rolling deploy: targets updated in batches, each health-checked. Needed by `strategy: rolling`.'),
    steps: doc(noSteps(), 'The deploy steps of `strategy: steps`, run one after the other; at least one is needed with that strategy.'),
  })
  .check(
    z.superRefine((d, ctx) => {
      if (d.strategy === 'blue-green' && !d.blueGreen)
        ctx.addIssue({ code: 'custom', path: ['blueGreen'], input: d, message: 'strategy blue-green needs a blueGreen section' });
      if (d.strategy === 'rolling' && !d.rolling)
        ctx.addIssue({ code: 'custom', path: ['rolling'], input: d, message: 'strategy rolling needs a rolling section' });
      if (d.strategy === 'steps' && d.steps.length === 0)
        ctx.addIssue({ code: 'custom', path: ['steps'], input: d, message: 'the deploy phase needs steps, or a blue-green or rolling strategy' });
    }),
  );
export type DeployPhase = z.infer<typeof DeployPhase>;

const VerificationHttpCheck = z.extend(HttpCheck, {
  core: doc(
    z.optional(z.boolean()),
    'Marks the check that the report\'s "Core API" line speaks for; one check at most. Unmarked, the first check whose name or URL has the word "api" is taken; `core: false` keeps a check out of that choice.',
  ),
});

const VerificationPhase = z
  .strictObject({
    steps: doc(noSteps(), 'Steps run first in the verification phase, one after the other (smoke tests, for example).'),
    http: doc(
      writtenDefault(z._default(z.array(VerificationHttpCheck), []), []),
      'HTTP checks run once each after the verification steps; there are no retries here. A failed check asks: retry, roll back, pause or waive.',
    ),
    logs: doc(z._default(z.array(LogCheck), []), 'Log scans run after the HTTP checks: a command prints logs, and lines matching `errorPatterns` fail it.'),
  })
  .check(
    z.superRefine((v, ctx) => {
      const marked = v.http.flatMap((c, i) => (c.core ? [i] : []));
      for (const i of marked.slice(1))
        ctx.addIssue({ code: 'custom', path: ['http', i, 'core'], input: true, message: `only one HTTP check is the core API; http[${marked[0]}] already is` });
    }),
  );

const GitCheck = z.strictObject({
  branch: doc(z._default(z.string(), 'main'), 'The branch HEAD must be part of (merged into), local or remote-tracking as of the last fetch.'),
  clean: doc(
    z._default(z.boolean(), true),
    "Refuse uncommitted changes and untracked files in the repository. Release Pilot's own files (`.release/runs`, the lock) do not count.",
  ),
  tagAtHead: doc(z._default(z.boolean(), true), 'HEAD must carry a tag.'),
  tagMatchesVersion: doc(
    z._default(z.boolean(), true),
    'A tag at HEAD must be the release tag, `tagPrefix` followed by the version (`v1.4.0`). With `tagAtHead: false`, an untagged HEAD passes.',
  ),
});

const ChecklistItem = z
  .strictObject({
    id: doc(
      z.string().check(z.regex(ID_RE, 'expected an id of letters, digits, - _ .')),
      "The item's id: letters, digits, `-`, `_`, `.`. The CLI names it in `--tick ID` and `--waive ID=REASON`.",
    ),
    title: doc(str(), 'What the item checks, as the tree, the question and the report show it.'),
    git: doc(
      z.optional(GitCheck),
      'A git check of the workspace repository: HEAD merged into `branch`, no uncommitted change, HEAD tagged with the release tag.',
    ),
    files: doc(
      z.optional(z.array(str()).check(z.minLength(1))),
      'Glob patterns, relative to the workspace, that must each match at least one file (dotfiles included). Plan references are resolved, except the run and colour ones.',
    ),
    run: doc(
      z.optional(str()),
      'A command that passes when it exits 0: bash in the workspace folder, 120 s at most. Plan references are resolved, except the run and colour ones (the tree runs it before any run).',
    ),
    manual: doc(z.optional(z.boolean()), 'A person ticks the item: in the tree, at the terminal, or with `--tick ID` in the CLI. The tick records who.'),
  })
  .check(
    z.refine((i) => [i.git, i.files, i.run, i.manual].filter((x) => x !== undefined).length === 1, {
      message: 'a checklist item needs exactly one check: git, files, run or manual',
    }),
  );
export type ChecklistItem = z.infer<typeof ChecklistItem>;

const Acceptance = z
  .strictObject({
    file: doc(z.optional(z.string()), 'A file that holds the verdict, relative to the workspace. Plan references are resolved, except the colour ones.'),
    command: doc(
      z.optional(z.string()),
      'A command whose output (stdout and stderr) holds the verdict: bash in the workspace folder, 60 s at most; a non-zero exit refuses. Plan references are resolved, except the colour ones.',
    ),
    url: doc(
      z.optional(z.string()),
      'A URL whose response body holds the verdict, read with GET within 15 s; an HTTP error status refuses. Plan references are resolved, except the colour ones.',
    ),
    expect: doc(
      z._default(str(), 'Ready for Launch'),
      'The phrase that means go. A go is a line whose whole text is the phrase (case, spacing, Markdown heading, bullet, `[x]`, bold and one label such as `Verdict:` aside, optionally ending in `.` or `!`). Any other line that mentions it, a line that only says no (no, not yet, blocked, ❌…) or a labelled verdict with another value refuses, even when another line says go.',
    ),
  })
  .check(
    z.refine((a) => [a.file, a.command, a.url].filter(Boolean).length === 1, { message: 'acceptance needs exactly one verdict source: file, command or url' }),
  );
export type Acceptance = z.infer<typeof Acceptance>;

const PrometheusSource = z.strictObject({
  url: doc(str(), 'The base URL of the Prometheus server, such as `http://prometheus:9090`; `/api/v1/query` is appended. Plan references are resolved.'),
  query: doc(
    str(),
    'A PromQL instant query that returns one series or a scalar (aggregate with `sum()`); its value is the sample. Plan references are resolved.',
  ),
});
const ScrapeSource = z.strictObject({
  url: doc(str(), 'The URL of a Prometheus text-format endpoint, such as `http://app:8080/metrics`. Plan references are resolved.'),
  metric: doc(str(), 'The metric name; for `kind: quantile`, the histogram name without `_bucket`.'),
  labels: doc(
    z._default(z.record(z.string(), z.string()), {}),
    'Label matchers that pick the series, such as `{ status: "5.." }`. Each value is a regular expression that must match the whole label value; the matching series are summed.',
  ),
  kind: doc(
    z._default(z.enum(['gauge', 'rate', 'ratio', 'quantile']), 'gauge'),
    "How the sample is computed from the scrapes. `gauge`: the value (the sum of the matching series). `rate`: a counter's increase per second between two scrapes (a reset counts from zero). `ratio`: the increase of the matching series over the increase of all the metric's series (an error ratio). `quantile`: the `quantile` of the histogram's observations between two scrapes. Rates need a first scrape, made before the window starts.",
  ),
  quantile: doc(z._default(z.number().check(z.gt(0), z.lt(1)), 0.99), 'The quantile of `kind: quantile`, between 0 and 1 exclusive (0.99 is the p99).'),
});
const HttpJsonSource = z.strictObject({
  url: doc(str(), 'The URL of a JSON document, read with GET; an HTTP error status is an error sample. Plan references are resolved.'),
  field: doc(
    str(),
    'The path of the number in the document: keys separated by dots, array indexes in brackets or as keys (`stats.requests.errorRate`, `items[0].value`). A string that holds a number counts as that number; a missing field or `null` is an empty sample.',
  ),
});

const Guard = z
  .strictObject({
    max: doc(z.optional(z.number()), 'A sample above this value breaches the guard.'),
    min: doc(z.optional(z.number()), 'A sample below this value breaches the guard.'),
    dropPercent: doc(
      z.optional(z.number().check(z.positive())),
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
    command: doc(
      z.optional(z.string()),
      "Source: a command whose standard output ends with the number. The last word it prints is the sample (`0.02`, `17`; `NaN` is an unusable sample); a non-zero exit or a word that is not a number is an error sample, nothing printed an empty one. It runs in bash in the workspace folder with Release Pilot's environment, once per sample, within `timeout`. Plan references are resolved.",
    ),
    timeout: durationDefault(5_000, 'How long one sample may take; a sample not taken in time is an error sample.'),
    guard: doc(Guard, 'The rules the samples must keep: thresholds judged on each sample, and a statistical rule judged at the end of the window.'),
  })
  .check(
    z.refine((m) => [m.prometheus, m.scrape, m.http, m.command].filter((x) => x !== undefined).length === 1, {
      message: 'a metric needs exactly one source: prometheus, scrape, http or command',
    }),
  );
export type Metric = z.infer<typeof Metric>;

export const Monitoring = z.strictObject({
  window: doc(
    Duration,
    'How long production is watched after verification, before the announcement. The spec asks for 15 to 30 minutes; a shorter window on a production environment is warned about, unless `shortWindowReason` says why.',
  ),
  interval: durationDefault(15_000, 'The time between two samples of every metric, in the window and while the baseline is captured.'),
  baseline: doc(
    z
      .strictObject({
        capture: doc(
          z.optional(Duration),
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
    z._default(int(1), 1),
    'How many breaches of a guard in a row confirm it; a confirmed breach triggers `onBreach`. A good sample in between starts the count again.',
  ),
  consecutiveErrorLimit: doc(
    z._default(int(1), 4),
    'How many unusable samples of a metric in a row fail it, as a confirmed breach does. An error, a timeout, NaN, an empty answer or no traffic are unusable.',
  ),
  onBreach: doc(
    z._default(z.enum(['rollback', 'prompt', 'pause']), 'rollback'),
    'What a confirmed breach does. `rollback`: the rollback starts at once. `prompt`: a person chooses roll back, continue watching or pause (the CLI without a terminal rolls back). `pause`: the release pauses. A statistical failure at the end of the window rolls back, or pauses with `pause`.',
  ),
  metrics: doc(
    z.array(Metric).check(z.minLength(1)),
    'The metrics watched, each with exactly one source (`prometheus`, `scrape`, `http` or `command`) and a guard.',
  ),
  shortWindowReason: doc(z.optional(str()), "Why a production window is shorter than the spec's 15 minutes (a demo, a tiny service); it silences the warning."),
});
export type Monitoring = z.infer<typeof Monitoring>;

const Announce = z.strictObject({
  notify: doc(
    z._default(z.boolean(), true),
    'Tell the team the outcome: a VS Code notification, or a line the CLI prints. It runs last in the announcement phase, and after a rollback.',
  ),
  webhook: doc(
    z.optional(
      z.strictObject({
        url: doc(
          z.string().check(z.regex(ENV_REF_RE, 'expected ${env:NAME}: a webhook URL is a secret and stays out of the plan')),
          'The webhook URL, written as `${env:NAME}`: a webhook URL is a secret, so it comes from the environment and is masked in every output.',
        ),
        timeout: durationDefault(10_000, 'How long one attempt may take.'),
        retries: doc(
          z._default(int(0), 2),
          'How many more attempts follow a network error, a timeout, HTTP 429 or a 5xx answer, 0.5 s, 1 s, 2 s… apart. Other answers are not retried.',
        ),
      }),
    ),
    'POST the announcement as JSON `{"text": "…"}` (the shape of Slack and Mattermost incoming webhooks) in the announcement phase, and after a rollback.',
  ),
  command: doc(
    z.optional(z.string()),
    'A command that announces the release, run like a step after the announcement steps. It runs after a rollback too, with `RELEASE_PILOT_ANNOUNCEMENT` (the text) and `RELEASE_PILOT_OUTCOME` (`rolled-back` or `rollback-failed`) in its environment, 60 s at most. Plan references are resolved.',
  ),
});

/** Keep a Changelog sections a commit type can go to, or `hidden` to leave it out. */
export const CHANGELOG_TARGETS = ['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security', 'hidden'] as const;
export const ChangelogSettings = z.strictObject({
  path: doc(
    z.optional(str()),
    'Only commits that touch this folder count (a package of a monorepo), relative to the workspace. Default: the whole repository.',
  ),
  includePrereleases: doc(z._default(z.boolean(), false), 'Compare with the last pre-release tag too. By default a release compares with the last stable tag.'),
  prerelease: doc(
    z.optional(z.string().check(z.regex(/^[A-Za-z][0-9A-Za-z-]*$/, 'expected a pre-release id such as rc, beta or alpha'))),
    'Propose a pre-release version, `<next>-<id>.<n>`: with `rc`, 1.2.0-rc.1 where the next stable version is 1.2.0.',
  ),
  types: doc(
    z._default(z.record(z.string().check(z.regex(/^\w+$/, 'expected a commit type such as feat')), z.enum(CHANGELOG_TARGETS)), {}),
    'Which changelog section each commit type goes to, over the defaults. Defaults: feat Added, fix Fixed, perf Changed, deprecate Deprecated, remove Removed, security Security; docs, chore, style, refactor, test, build and ci `hidden` (left out); any other type hidden. Sections are those of Keep a Changelog: `Added`, `Changed`, `Deprecated`, `Removed`, `Fixed`, `Security`, or `hidden`.',
  ),
  nonConventional: doc(
    z._default(z.enum(['auto', 'list', 'omit']), 'auto'),
    'What happens to commits without a Conventional Commits header. `auto`: listed only when the range has no conventional commit at all. `list`: always listed. `omit`: never listed, only counted.',
  ),
});
export type ChangelogSettings = z.infer<typeof ChangelogSettings>;

export const Plan = z.strictObject({
  release: doc(
    z.strictObject({
      name: doc(
        str(),
        "The service's name, in the go/no-go question, the report and the announcement; `${release.name}`. The previous version is looked up among released runs with the same name and environment.",
      ),
      version: doc(
        z.union([
          z.literal('auto'),
          z.string().check(z.regex(/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'expected a semantic version such as 1.4.0, or auto')),
        ]),
        'The version released: a semantic version such as `1.4.0` (a leading `v` is dropped), or `auto`. `auto` proposes the next version from the Conventional Commits since the previous release tag (see `changelog`) and needs a git repository. Available as `${release.version}`.',
      ),
      environment: doc(
        z._default(str(), 'production'),
        'The environment released to, named in the go/no-go question, the report and the announcement; `${release.environment}`.',
      ),
      production: doc(
        z.optional(z.boolean()),
        'Whether the environment is production; unset, a name with a "prod" word (production, prod, prod-eu) is, and preprod or nonprod is not. On production, a monitoring window shorter than 15 minutes is warned about.',
      ),
      tagPrefix: doc(
        z._default(z.string(), 'v'),
        'What release tags start with: version 1.4.0 is tagged `v1.4.0` with the default. The git checklist check, `version: auto` and the previous version use it.',
      ),
    }),
    'What is released, in which version, to which environment.',
  ),
  changelog: doc(
    z.optional(ChangelogSettings),
    'How the changelog and `version: auto` read the commits since the previous release tag (Conventional Commits). Optional: the defaults read the whole repository.',
  ),
  acceptance: doc(
    Acceptance,
    'Where the QA acceptance verdict is read: exactly one of `file`, `command` or `url`. It is read first; the release goes on only when it says go (`expect`).',
  ),
  variables: doc(
    z._default(z.record(z.string().check(z.regex(NAME_RE)), z.string()), {}),
    'Plan variables, used as `${var.NAME}` in commands, URLs and step environments. `--var NAME=VALUE` overrides one for a run. They are not masked: a secret belongs in the environment (`${env:NAME}`).',
  ),
  secrets: doc(
    z._default(z.array(z.string().check(z.regex(NAME_RE, 'expected an environment variable name'))), []),
    'Environment variables whose values are masked in every output: logs, terminal, journal, report. Every variable the plan reads as `${env:NAME}` is masked too; list here the ones that steps read by themselves. A release does not start when a set value cannot be masked safely (fewer than 4 characters, only blanks, or a NUL).',
  ),
  checklist: doc(
    z._default(z.array(ChecklistItem), []),
    'Pre-release checks, run in order after the acceptance verdict and before the go/no-go question. Each item has exactly one check (`git`, `files`, `run` or `manual`); a failed one can be retried, waived with a reason, or it aborts the release.',
  ),
  phases: doc(
    z.strictObject({
      preparation: doc(z.optional(Phase), 'First phase, after the go/no-go confirmation: steps that prepare the release (build, package, push an image).'),
      staging: doc(z.optional(Phase), 'Staging smoke test: steps that try the release on staging, before production is touched.'),
      backup: doc(
        z.optional(
          z.extend(Phase, {
            path: doc(
              z.optional(z.string()),
              "Where the backup is written, available to every step and the rollback as `${backup.path}`. Default: the run's folder, `.release/runs/<run-id>/backup`. Plan references are resolved, except `${backup.path}` itself.",
            ),
          }),
        ),
        'Production DB backup: steps that back the database up before the migration. A migration runs only after a backup that passed in the same release.',
      ),
      migration: doc(
        z.optional(Phase),
        'DB migration: steps that change the database schema. They run only when every backup step passed in this same release; a waived backup is not a backup.',
      ),
      deploy: doc(DeployPhase, 'Service deployment: the only phase every plan needs. `strategy` picks plain `steps`, `blue-green` or `rolling`.'),
      config: doc(z.optional(Phase), 'Config update: steps that change configuration once the new version is live.'),
      verification: doc(
        z.optional(VerificationPhase),
        'Verification: steps, HTTP checks and log scans that check the new version in production, before monitoring starts.',
      ),
      announcement: doc(
        z.optional(Phase),
        'Announcement: steps run once the monitoring window passed; a failed one is reported but does not fail the release. Then come `announce.command`, `announce.webhook` and `announce.notify`.',
      ),
    }),
    'The release phases, in the order they run. The order: preparation, staging, backup, migration, deploy, config, verification, monitoring (the `monitoring` section), announcement. A phase without steps is skipped; only `deploy` is required.',
  ),
  rollback: doc(
    z
      .strictObject({
        deadline: durationDefault(
          300_000,
          'The rollback window: how long after the monitoring window ends (or the release finishes) a rollback is offered as an ordinary, confirmed action. After it, a rollback is still possible but late: it asks for an explicit confirmation naming how late it is (CLI: `--yes --late`).',
        ),
        budget: durationDefault(
          300_000,
          "How long a rollback may take, from its trigger to the end of its last step (the spec's 5 minutes by default). A rollback step without its own timeout gets what is left of the budget (1 s at least); a step's own timeout may not exceed it; a rollback over budget is flagged in the report's Incident Response.",
        ),
        steps: doc(
          Steps.check(z.minLength(1, 'a rollback plan needs at least one step')),
          'The rollback steps, run in order when a rollback starts; the first step that fails stops the rollback, which ends as failed. Plan references are resolved, the colours included in a blue-green plan.',
        ),
      })
      .check(
        z.superRefine((r, ctx) => {
          r.steps.forEach((s, i) => {
            if (s.timeout !== undefined && s.timeout > r.budget)
              ctx.addIssue({
                code: 'custom',
                path: ['steps', i, 'timeout'],
                input: s.timeout,
                message: `a rollback step's timeout (${s.timeout / 1000} s) cannot exceed the rollback budget (${r.budget / 1000} s)`,
              });
          });
        }),
      ),
    'How production goes back to the previous version; a release never starts without it. A rollback starts on a confirmed guard breach, on a failed rolling health check, or on request: after a failed step, or later with the rollback command.',
  ),
  monitoring: doc(
    Monitoring,
    'The monitoring window after verification: every metric is sampled each `interval` for `window` and judged by its guard against the baseline. A confirmed breach triggers `onBreach`.',
  ),
  announce: doc(
    writtenDefault(z._default(Announce, { notify: true }), { notify: true }),
    'How the outcome is announced, at the end of the announcement phase and after a rollback. A failed announcement is reported, and the release still counts as released.',
  ),
});
export type Plan = z.infer<typeof Plan>;
export type PlanInput = z.input<typeof Plan>;

/** The spec's phases, in the order a release runs them. */
export const PHASES = ['preparation', 'staging', 'backup', 'migration', 'deploy', 'config', 'verification', 'monitoring', 'announcement'] as const;
export type PhaseId = (typeof PHASES)[number];
export const PHASE_TITLES: Record<PhaseId, string> = {
  preparation: 'Preparation',
  staging: 'Staging smoke test',
  backup: 'Production DB backup',
  migration: 'DB migration',
  deploy: 'Service deployment',
  config: 'Config update',
  verification: 'Verification',
  monitoring: 'Monitoring',
  announcement: 'Announcement',
};

export function planJsonSchema(): unknown {
  return z.toJSONSchema(Plan, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      if (WRITTEN_DEFAULTS.has(ctx.zodSchema)) ctx.jsonSchema.default = WRITTEN_DEFAULTS.get(ctx.zodSchema);
    },
  });
}
