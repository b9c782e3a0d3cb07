import { z } from 'zod';

/** Durations are written as `90s`, `5m`, `1h`, `250ms`, or a number of seconds; they load as milliseconds (defaults are given in milliseconds: zod applies them after the transform). */
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
export const Duration = z
  .union([z.number().nonnegative(), z.string().regex(DURATION_RE, 'expected a duration such as 30s, 5m or 1h')])
  .transform((v) => durationMs(v));

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

const Env = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string()).superRefine((env, ctx) => {
  for (const [k, v] of Object.entries(env)) {
    if (SECRET_NAME_RE.test(k) && !ENV_REF_RE.test(v.trim())) {
      ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" looks like a secret: write it as \${env:NAME} and keep the value out of the plan` });
    }
  }
});

export const Step = z.strictObject({
  name: z.string().min(1).optional(),
  run: z.string().min(1),
  cwd: z.string().optional(),
  env: Env.optional(),
  timeout: Duration.optional(),
  /** Production steps ask for confirmation unless the run was started with --yes. */
  production: z.boolean().optional(),
});
export type Step = z.infer<typeof Step>;

const Steps = z.array(Step);

const HttpCheck = z.strictObject({
  name: z.string().optional(),
  url: z.string().min(1),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  status: z.number().int().min(100).max(599).default(200),
  body: z.string().optional().describe('a regular expression the response body must match'),
  maxLatency: Duration.optional(),
  timeout: Duration.default(10_000),
});
export type HttpCheck = z.infer<typeof HttpCheck>;

const HealthCheck = z
  .strictObject({
    http: HttpCheck.optional(),
    run: z.string().optional(),
    retries: z.number().int().min(0).default(10),
    interval: Duration.default(1_000),
  })
  .refine((h) => Boolean(h.http) !== Boolean(h.run), { message: 'a health check needs exactly one of http or run' });
export type HealthCheck = z.infer<typeof HealthCheck>;

const LogCheck = z.strictObject({
  name: z.string().optional(),
  run: z.string().min(1),
  errorPatterns: z.array(z.string()).min(1).default(['ERROR', 'FATAL', 'panic']),
});
export type LogCheck = z.infer<typeof LogCheck>;

const Phase = z.strictObject({ steps: Steps.default([]) });

const BlueGreen = z.strictObject({
  colors: z.tuple([z.string(), z.string()]).default(['blue', 'green']),
  /** A command printing the colour that serves traffic now. */
  active: z.string().min(1),
  deploy: Steps.min(1),
  healthCheck: HealthCheck,
  switch: Steps.min(1),
  /** Runs after the monitoring window passed: retire the old colour. */
  retire: Steps.default([]),
});

const Rolling = z.strictObject({
  targets: z.array(z.string().min(1)).min(1),
  maxUnavailable: z.number().int().min(1).default(1),
  steps: Steps.min(1),
  healthCheck: HealthCheck,
});

const DeployPhase = z
  .strictObject({
    strategy: z.enum(['blue-green', 'rolling', 'steps']).default('steps'),
    blueGreen: BlueGreen.optional(),
    rolling: Rolling.optional(),
    steps: Steps.default([]),
  })
  .superRefine((d, ctx) => {
    if (d.strategy === 'blue-green' && !d.blueGreen) ctx.addIssue({ code: 'custom', path: ['blueGreen'], message: 'strategy blue-green needs a blueGreen section' });
    if (d.strategy === 'rolling' && !d.rolling) ctx.addIssue({ code: 'custom', path: ['rolling'], message: 'strategy rolling needs a rolling section' });
    if (d.strategy === 'steps' && d.steps.length === 0) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'the deploy phase needs steps, or a blue-green or rolling strategy' });
  });
export type DeployPhase = z.infer<typeof DeployPhase>;

const VerificationPhase = z.strictObject({
  steps: Steps.default([]),
  http: z.array(HttpCheck).default([]),
  logs: z.array(LogCheck).default([]),
});

const GitCheck = z.strictObject({
  branch: z.string().default('main'),
  clean: z.boolean().default(true),
  tagAtHead: z.boolean().default(true),
  tagMatchesVersion: z.boolean().default(true),
});

const ChecklistItem = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected an id of letters, digits, - _ .'),
    title: z.string().min(1),
    git: GitCheck.optional(),
    files: z.array(z.string().min(1)).min(1).optional(),
    run: z.string().min(1).optional(),
    manual: z.boolean().optional(),
  })
  .refine((i) => [i.git, i.files, i.run, i.manual].filter((x) => x !== undefined).length === 1, {
    message: 'a checklist item needs exactly one check: git, files, run or manual',
  });
export type ChecklistItem = z.infer<typeof ChecklistItem>;

const Acceptance = z
  .strictObject({
    file: z.string().optional(),
    command: z.string().optional(),
    url: z.string().optional(),
    expect: z.string().min(1).default('Ready for Launch'),
  })
  .refine((a) => [a.file, a.command, a.url].filter(Boolean).length === 1, {
    message: 'acceptance needs exactly one verdict source: file, command or url',
  });
export type Acceptance = z.infer<typeof Acceptance>;

const PrometheusSource = z.strictObject({ url: z.string().min(1), query: z.string().min(1) });
const ScrapeSource = z.strictObject({
  url: z.string().min(1),
  metric: z.string().min(1),
  /** Label matchers, e.g. { status: "5.." } (values are regular expressions). */
  labels: z.record(z.string(), z.string()).default({}),
  /** gauge: the value; rate: per-second increase of a counter; ratio: rate(metric{labels}) / rate(metric); quantile: from a histogram. */
  kind: z.enum(['gauge', 'rate', 'ratio', 'quantile']).default('gauge'),
  quantile: z.number().gt(0).lt(1).default(0.99),
});
const HttpJsonSource = z.strictObject({ url: z.string().min(1), field: z.string().min(1) });

const Guard = z
  .strictObject({
    max: z.number().optional(),
    min: z.number().optional(),
    dropPercent: z.number().positive().optional(),
    risePercent: z.number().positive().optional(),
    mannWhitney: z.enum(['increase', 'decrease', 'either']).optional(),
  })
  .refine((g) => Object.values(g).some((v) => v !== undefined), { message: 'a guard needs at least one rule: max, min, dropPercent, risePercent or mannWhitney' });
export type Guard = z.infer<typeof Guard>;

export const Metric = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected an id of letters, digits, - _ .'),
    title: z.string().optional(),
    unit: z.string().optional(),
    prometheus: PrometheusSource.optional(),
    scrape: ScrapeSource.optional(),
    http: HttpJsonSource.optional(),
    command: z.string().optional(),
    timeout: Duration.default(5_000),
    guard: Guard,
  })
  .refine((m) => [m.prometheus, m.scrape, m.http, m.command].filter((x) => x !== undefined).length === 1, {
    message: 'a metric needs exactly one source: prometheus, scrape, http or command',
  });
export type Metric = z.infer<typeof Metric>;

export const Monitoring = z.strictObject({
  window: Duration,
  interval: Duration.default(15_000),
  baseline: z
    .strictObject({
      capture: Duration.optional(),
      fixed: z.record(z.string(), z.number()).optional(),
    })
    .refine((b) => Boolean(b.capture !== undefined) !== Boolean(b.fixed), { message: 'baseline needs exactly one of capture or fixed' }),
  failureLimit: z.number().int().min(1).default(1).describe('consecutive breaches of a guard before it counts'),
  consecutiveErrorLimit: z.number().int().min(1).default(4),
  onBreach: z.enum(['rollback', 'prompt', 'pause']).default('rollback'),
  metrics: z.array(Metric).min(1),
});
export type Monitoring = z.infer<typeof Monitoring>;

const Announce = z.strictObject({
  notify: z.boolean().default(true),
  webhook: z
    .strictObject({
      url: z.string().regex(ENV_REF_RE, 'expected ${env:NAME}: a webhook URL is a secret and stays out of the plan'),
      timeout: Duration.default(10_000),
      retries: z.number().int().min(0).default(2),
    })
    .optional(),
  command: z.string().optional(),
});

export const Plan = z.strictObject({
  release: z.strictObject({
    name: z.string().min(1),
    version: z.union([z.literal('auto'), z.string().regex(/^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'expected a semantic version such as 1.4.0, or auto')]),
    environment: z.string().min(1).default('production'),
    tagPrefix: z.string().default('v'),
  }),
  acceptance: Acceptance,
  variables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  secrets: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')).default([]),
  checklist: z.array(ChecklistItem).default([]),
  phases: z.strictObject({
    preparation: Phase.optional(),
    staging: Phase.optional(),
    backup: Phase.extend({ path: z.string().optional() }).optional(),
    migration: Phase.optional(),
    deploy: DeployPhase,
    config: Phase.optional(),
    verification: VerificationPhase.optional(),
    announcement: Phase.optional(),
  }),
  rollback: z.strictObject({
    deadline: Duration.default(300_000),
    steps: Steps.min(1, 'a rollback plan needs at least one step'),
  }),
  monitoring: Monitoring,
  announce: Announce.default({ notify: true }),
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
