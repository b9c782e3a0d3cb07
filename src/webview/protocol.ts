import * as z from 'zod/mini';

/** Messages between the extension and the release panel, validated on both sides. */

const Point = z.tuple([z.number(), z.nullable(z.number())]);

export const MetricSnapshot = z.object({
  id: z.string(),
  title: z.string(),
  unit: z.string(),
  baseline: z.nullable(z.object({ mean: z.number(), stdev: z.number() })),
  thresholds: z.array(z.object({ label: z.string(), value: z.number() })),
  guard: z.string(),
  points: z.array(Point),
  breaches: z.array(z.number()),
  last: z.nullable(z.object({ value: z.nullable(z.number()), status: z.string(), message: z.optional(z.string()) })),
  verdict: z.nullable(z.object({ verdict: z.string(), explanation: z.string() })),
});
export type MetricSnapshot = z.infer<typeof MetricSnapshot>;

export const Marker = z.object({ t: z.number(), label: z.string(), kind: z.enum(['deploy', 'switch', 'rollback', 'breach', 'monitoring', 'canary']) });
export type Marker = z.infer<typeof Marker>;

export const ReportView = z.object({
  markdown: z.string(),
  sections: z.array(z.object({ title: z.string(), rows: z.array(z.tuple([z.string(), z.string()])) })),
});
export type ReportView = z.infer<typeof ReportView>;

const ComparedMetricView = z.object({
  id: z.string(),
  title: z.string(),
  guard: z.string(),
  baseline: z.nullable(z.object({ mean: z.number(), stdev: z.number(), samples: z.number(), fixed: z.boolean() })),
  /** Seconds from the window's start, and the value. */
  points: z.array(Point),
  breaches: z.array(z.number()),
  summary: z.string(),
  verdict: z.string(),
});

const ComparedRunView = z.object({
  runId: z.string(),
  title: z.string(),
  status: z.string(),
  facts: z.array(z.tuple([z.string(), z.string()])),
  metrics: z.array(ComparedMetricView),
});

/** Two runs of a plan side by side (the earlier first) and the changelog between them. */
export const ComparisonView = z.object({
  title: z.string(),
  runs: z.tuple([ComparedRunView, ComparedRunView]),
  changelog: z.object({ heading: z.string(), lines: z.array(z.string()) }),
});
export type ComparisonView = z.infer<typeof ComparisonView>;

const Tab = z.enum(['monitor', 'report', 'compare']);

export const Snapshot = z.object({
  title: z.string(),
  status: z.string(),
  outcomeMessage: z.optional(z.string()),
  monitoring: z.object({ startedAt: z.nullable(z.number()), endsAt: z.nullable(z.number()), finishedAt: z.nullable(z.number()) }),
  rollbackUntil: z.nullable(z.number()),
  /** A canary deploy under way: the share of the traffic on the new version, and its step. */
  canary: z.optional(z.object({ weight: z.number(), index: z.number(), of: z.number() })),
  metrics: z.array(MetricSnapshot),
  markers: z.array(Marker),
  report: z.nullable(ReportView),
  tab: Tab,
  /** The comparison the Compare tab shows, when one was asked for. */
  comparison: z.nullable(ComparisonView),
});
export type Snapshot = z.infer<typeof Snapshot>;

export const ToWebview = z.discriminatedUnion('type', [
  z.object({ type: z.literal('snapshot'), snapshot: Snapshot }),
  z.object({
    type: z.literal('samples'),
    at: z.number(),
    values: z.record(z.string(), z.object({ value: z.nullable(z.number()), status: z.string(), message: z.optional(z.string()) })),
  }),
]);
export type ToWebview = z.infer<typeof ToWebview>;

export const FromWebview = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('rollback') }),
  z.object({ type: z.literal('openMarkdown') }),
  z.object({ type: z.literal('copyReport') }),
  z.object({ type: z.literal('tab'), tab: Tab }),
  z.object({ type: z.literal('applied'), ms: z.number() }),
]);
export type FromWebview = z.infer<typeof FromWebview>;
