// zod/mini: the same schemas and issues as zod's classic API, tree-shakable (26 KB where the classic
// namespace brings 440 KB into every bundle).
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

const str = () => z.string().check(z.minLength(1));
const int = (min: number, max?: number) => z.int().check(...(max === undefined ? [z.gte(min)] : [z.gte(min), z.lte(max)]));

/** Durations are written as `90s`, `5m`, `1h`, `250ms`, or a number of seconds; they load as milliseconds (defaults are given in milliseconds: zod applies them after the transform). */
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
export const Duration = z.pipe(
  z.union([z.number().check(z.gte(0)), z.string().check(z.regex(DURATION_RE, 'expected a duration such as 30s, 5m or 1h'))]),
  z.transform((v: number | string) => durationMs(v)),
);

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
  name: z.optional(str()),
  run: str(),
  cwd: z.optional(z.string()),
  env: z.optional(Env),
  timeout: z.optional(Duration),
  /** Production steps ask for confirmation unless the run was started with --yes. */
  production: z.optional(z.boolean()),
});
export type Step = z.infer<typeof Step>;

const Steps = z.array(Step);

const HttpCheck = z.strictObject({
  name: z.optional(z.string()),
  url: str(),
  method: z._default(z.enum(['GET', 'HEAD', 'POST']), 'GET'),
  status: z._default(int(100, 599), 200),
  /** A regular expression the response body must match. */
  body: z.optional(z.string()),
  maxLatency: z.optional(Duration),
  timeout: z._default(Duration, 10_000),
});
export type HttpCheck = z.infer<typeof HttpCheck>;

const HealthCheck = z
  .strictObject({
    http: z.optional(HttpCheck),
    run: z.optional(z.string()),
    retries: z._default(int(0), 10),
    interval: z._default(Duration, 1_000),
  })
  .check(z.refine((h) => Boolean(h.http) !== Boolean(h.run), { message: 'a health check needs exactly one of http or run' }));
export type HealthCheck = z.infer<typeof HealthCheck>;

const LogCheck = z.strictObject({
  name: z.optional(z.string()),
  run: str(),
  errorPatterns: z._default(z.array(z.string()).check(z.minLength(1)), ['ERROR', 'FATAL', 'panic']),
});
export type LogCheck = z.infer<typeof LogCheck>;

const Phase = z.strictObject({ steps: z._default(Steps, []) });

const BlueGreen = z.strictObject({
  colors: z._default(z.tuple([z.string(), z.string()]), ['blue', 'green']),
  /** A command printing the colour that serves traffic now. */
  active: str(),
  deploy: Steps.check(z.minLength(1)),
  healthCheck: HealthCheck,
  switch: Steps.check(z.minLength(1)),
  retire: z._default(Steps, []).register(z.globalRegistry, {
    description:
      'Retires the old colour (${deploy.active}). It stays up after the release so that a rollback is a switch to a running instance (as Argo Rollouts keeps the old ReplicaSet for scaleDownDelaySeconds): these steps run when the next release of this workspace starts its deploy, before it deploys to that colour.',
  }),
});

const Rolling = z.strictObject({
  targets: z.array(str()).check(z.minLength(1)),
  maxUnavailable: z._default(int(1), 1),
  steps: Steps.check(z.minLength(1)),
  healthCheck: HealthCheck,
});

const DeployPhase = z
  .strictObject({
    strategy: z._default(z.enum(['blue-green', 'rolling', 'steps']), 'steps'),
    blueGreen: z.optional(BlueGreen),
    rolling: z.optional(Rolling),
    steps: z._default(Steps, []),
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

/** `core: true` names the check the report's "Core API" line speaks for. */
const VerificationHttpCheck = z.extend(HttpCheck, { core: z.optional(z.boolean()) });

const VerificationPhase = z
  .strictObject({
    steps: z._default(Steps, []),
    http: z._default(z.array(VerificationHttpCheck), []),
    logs: z._default(z.array(LogCheck), []),
  })
  .check(
    z.superRefine((v, ctx) => {
      const marked = v.http.flatMap((c, i) => (c.core ? [i] : []));
      for (const i of marked.slice(1))
        ctx.addIssue({ code: 'custom', path: ['http', i, 'core'], input: true, message: `only one HTTP check is the core API; http[${marked[0]}] already is` });
    }),
  );

const GitCheck = z.strictObject({
  branch: z._default(z.string(), 'main'),
  clean: z._default(z.boolean(), true),
  tagAtHead: z._default(z.boolean(), true),
  tagMatchesVersion: z._default(z.boolean(), true),
});

const ChecklistItem = z
  .strictObject({
    id: z.string().check(z.regex(ID_RE, 'expected an id of letters, digits, - _ .')),
    title: str(),
    git: z.optional(GitCheck),
    files: z.optional(z.array(str()).check(z.minLength(1))),
    run: z.optional(str()),
    manual: z.optional(z.boolean()),
  })
  .check(
    z.refine((i) => [i.git, i.files, i.run, i.manual].filter((x) => x !== undefined).length === 1, {
      message: 'a checklist item needs exactly one check: git, files, run or manual',
    }),
  );
export type ChecklistItem = z.infer<typeof ChecklistItem>;

const Acceptance = z
  .strictObject({
    file: z.optional(z.string()),
    command: z.optional(z.string()),
    url: z.optional(z.string()),
    expect: z._default(str(), 'Ready for Launch'),
  })
  .check(
    z.refine((a) => [a.file, a.command, a.url].filter(Boolean).length === 1, { message: 'acceptance needs exactly one verdict source: file, command or url' }),
  );
export type Acceptance = z.infer<typeof Acceptance>;

const PrometheusSource = z.strictObject({ url: str(), query: str() });
const ScrapeSource = z.strictObject({
  url: str(),
  metric: str(),
  /** Label matchers, e.g. { status: "5.." } (values are regular expressions). */
  labels: z._default(z.record(z.string(), z.string()), {}),
  /** gauge: the value; rate: per-second increase of a counter; ratio: rate(metric{labels}) / rate(metric); quantile: from a histogram. */
  kind: z._default(z.enum(['gauge', 'rate', 'ratio', 'quantile']), 'gauge'),
  quantile: z._default(z.number().check(z.gt(0), z.lt(1)), 0.99),
});
const HttpJsonSource = z.strictObject({ url: str(), field: str() });

const Guard = z
  .strictObject({
    max: z.optional(z.number()),
    min: z.optional(z.number()),
    dropPercent: z.optional(z.number().check(z.positive())),
    risePercent: z.optional(z.number().check(z.positive())),
    mannWhitney: z.optional(z.enum(['increase', 'decrease', 'either'])),
  })
  .check(
    z.refine((g) => Object.values(g).some((v) => v !== undefined), {
      message: 'a guard needs at least one rule: max, min, dropPercent, risePercent or mannWhitney',
    }),
  );
export type Guard = z.infer<typeof Guard>;

export const Metric = z
  .strictObject({
    id: z.string().check(z.regex(ID_RE, 'expected an id of letters, digits, - _ .')),
    title: z.optional(z.string()),
    unit: z.optional(z.string()),
    prometheus: z.optional(PrometheusSource),
    scrape: z.optional(ScrapeSource),
    http: z.optional(HttpJsonSource),
    command: z.optional(z.string()),
    timeout: z._default(Duration, 5_000),
    guard: Guard,
  })
  .check(
    z.refine((m) => [m.prometheus, m.scrape, m.http, m.command].filter((x) => x !== undefined).length === 1, {
      message: 'a metric needs exactly one source: prometheus, scrape, http or command',
    }),
  );
export type Metric = z.infer<typeof Metric>;

export const Monitoring = z.strictObject({
  window: Duration,
  interval: z._default(Duration, 15_000),
  baseline: z
    .strictObject({
      capture: z.optional(Duration),
      fixed: z.optional(z.record(z.string(), z.number())),
    })
    .check(z.refine((b) => (b.capture !== undefined) !== (b.fixed !== undefined), { message: 'baseline needs exactly one of capture or fixed' })),
  /** Consecutive breaches of a guard before it counts. */
  failureLimit: z._default(int(1), 1),
  consecutiveErrorLimit: z._default(int(1), 4),
  onBreach: z._default(z.enum(['rollback', 'prompt', 'pause']), 'rollback'),
  metrics: z.array(Metric).check(z.minLength(1)),
  /** Why a production window is shorter than the spec's 15 minutes (a demo, a tiny service); silences the warning. */
  shortWindowReason: z.optional(str()),
});
export type Monitoring = z.infer<typeof Monitoring>;

const Announce = z.strictObject({
  notify: z._default(z.boolean(), true),
  webhook: z.optional(
    z.strictObject({
      url: z.string().check(z.regex(ENV_REF_RE, 'expected ${env:NAME}: a webhook URL is a secret and stays out of the plan')),
      timeout: z._default(Duration, 10_000),
      retries: z._default(int(0), 2),
    }),
  ),
  command: z.optional(z.string()),
});

/** Keep a Changelog sections a commit type can go to, or `hidden` to leave it out. */
export const CHANGELOG_TARGETS = ['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security', 'hidden'] as const;
export const ChangelogSettings = z.strictObject({
  /** Only commits that touch this folder (a package of a monorepo), relative to the workspace. */
  path: z.optional(str()),
  /** Compare with the last pre-release tag too; by default a release compares with the last stable one. */
  includePrereleases: z._default(z.boolean(), false),
  /** Propose a pre-release, `<next>-<id>.<n>` (e.g. `rc` → 1.2.0-rc.1). */
  prerelease: z.optional(z.string().check(z.regex(/^[A-Za-z][0-9A-Za-z-]*$/, 'expected a pre-release id such as rc, beta or alpha'))),
  /** Commit type → section, over the defaults (feat Added, fix Fixed, perf Changed, docs/chore/style/refactor/test/build/ci hidden). */
  types: z._default(z.record(z.string().check(z.regex(/^\w+$/, 'expected a commit type such as feat')), z.enum(CHANGELOG_TARGETS)), {}),
  /** Commits without a Conventional Commits header: `auto` lists them only when the range has no conventional commit. */
  nonConventional: z._default(z.enum(['auto', 'list', 'omit']), 'auto'),
});
export type ChangelogSettings = z.infer<typeof ChangelogSettings>;

export const Plan = z.strictObject({
  release: z.strictObject({
    name: str(),
    version: z.union([
      z.literal('auto'),
      z.string().check(z.regex(/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'expected a semantic version such as 1.4.0, or auto')),
    ]),
    environment: z._default(str(), 'production'),
    /** Whether the environment is production; unset, a name with a "prod" word (production, prod-eu) is. */
    production: z.optional(z.boolean()),
    tagPrefix: z._default(z.string(), 'v'),
  }),
  changelog: z.optional(ChangelogSettings),
  acceptance: Acceptance,
  variables: z._default(z.record(z.string().check(z.regex(NAME_RE)), z.string()), {}),
  secrets: z._default(z.array(z.string().check(z.regex(NAME_RE, 'expected an environment variable name'))), []),
  checklist: z._default(z.array(ChecklistItem), []),
  phases: z.strictObject({
    preparation: z.optional(Phase),
    staging: z.optional(Phase),
    backup: z.optional(z.extend(Phase, { path: z.optional(z.string()) })),
    migration: z.optional(Phase),
    deploy: DeployPhase,
    config: z.optional(Phase),
    verification: z.optional(VerificationPhase),
    announcement: z.optional(Phase),
  }),
  rollback: z
    .strictObject({
      deadline: z._default(Duration, 300_000).register(z.globalRegistry, {
        description:
          'The rollback window: how long after the monitoring window ends (or the release finishes) a rollback is offered as an ordinary, confirmed action. After it, a rollback is still possible but late: it asks for an explicit confirmation naming how late it is (CLI: --yes --late). Default 5m.',
      }),
      budget: z._default(Duration, 300_000).register(z.globalRegistry, {
        description:
          "How long a rollback may take, from its trigger to the end of its last step (the spec's 5 minutes by default). A rollback step without its own timeout gets what is left of the budget; a rollback over budget is flagged in the report's Incident Response.",
      }),
      steps: Steps.check(z.minLength(1, 'a rollback plan needs at least one step')),
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
  monitoring: Monitoring,
  announce: z._default(Announce, { notify: true }),
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
  return z.toJSONSchema(Plan, { io: 'input', unrepresentable: 'any' });
}
