// The deploy phase and its strategies: blue-green, rolling, canary. `schema.ts` assembles the plan.
import * as z from 'zod/mini';
import { COUNT_MAX, distinct, doc, duration, int, writtenDefault } from './schema-values';
import { healthCheck, ID_RE, noSteps, str, Steps } from './schema-parts';

/** A host or colour name as DNS and a case-insensitive file system compare it (and as its log file is named). */
const hostKey = (t: string) =>
  t
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\.+$/, '')
    .replace(/[^a-z0-9._-]+/g, '_');

const colour = () => z.string().check(z.regex(ID_RE, 'expected a colour name of letters, digits, - _ . such as blue or green'));

export const BlueGreen = z.strictObject({
  colors: doc(
    writtenDefault(
      z._default(
        z
          .tuple([colour(), colour()])
          .check(distinct('a release deploys to the colour that is not live, so the two colours must differ (case aside)', { same: hostKey })),
        ['blue', 'green'],
      ),
      ['blue', 'green'],
    ),
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

export const Rolling = z.strictObject({
  targets: doc(
    z.array(str()).check(
      z.minLength(1),
      distinct(
        'each target is one host of the batch and one log file, so the targets must differ (compared as DNS compares host names: case, a trailing dot and Unicode compatibility forms aside)',
        {
          same: hostKey,
        },
      ),
    ),
    'The hosts or instances to deploy to, in order. Each one in turn is `${target}` in `steps` and `healthCheck`.',
  ),
  maxUnavailable: doc(
    z._default(int(1, COUNT_MAX), 1),
    'How many targets are updated per batch. The targets of a batch run their steps at the same time, then their health checks at the same time, before the next batch starts.',
  ),
  steps: doc(
    Steps.check(z.minLength(1)),
    "Steps run for each target, with `${target}` set to it. One target's steps run in order, the batch's targets side by side (their output lines in the phase's terminal are prefixed with the target). A step that fails waits for the rest of its batch, then asks what to do, as any failed step does.",
  ),
  healthCheck: healthCheck("Checks each target of a batch after the batch's steps. A failure rolls the release back at once, without asking."),
});

export const Canary = z
  .strictObject({
    deploy: doc(Steps.check(z.minLength(1)), 'Steps that put the new version on the canary (a host, a pod, an instance) while it takes no traffic yet.'),
    setWeight: doc(
      Steps.check(z.minLength(1)),
      "Steps that give the canary `${canary.weight}` percent of the traffic, at each of `weights`. Any command does it: HAProxy's runtime API, an ingress annotation, a service mesh. The rollback must set the weight back to 0 itself: the plan's `rollback.steps` run on a breach.",
    ),
    weights: doc(
      z.array(z.number().check(z.gt(0), z.lte(100))).check(z.minLength(1)),
      'The traffic percentages the canary goes through, rising, such as `[10, 50, 100]`. Each is held for `analysis` while the monitoring guards are judged.',
    ),
    analysis: doc(
      duration(),
      'How long each weight is held and watched. Every `monitoring.interval`, every metric is sampled and judged against its guard (the baseline, or the metric named by its `compareTo`). A confirmed breach starts the rollback at once (`monitoring.onBreach` decides as in the window); the next weight is set only after a clean analysis.',
    ),
    promote: doc(
      noSteps(),
      'Steps run after the last weight passed its analysis: the rest of the fleet gets the new version, the weights go back to normal. Optional.',
    ),
  })
  .check(
    z.refine((c) => c.weights.every((w, i) => i === 0 || w > c.weights[i - 1]), {
      message: 'canary.weights must rise: each weight above the one before',
      path: ['weights'],
    }),
  );

export const DeployPhase = z
  .strictObject({
    strategy: doc(
      z._default(z.enum(['blue-green', 'rolling', 'canary', 'steps']), 'steps'),
      'How the new version reaches production. `steps`: the deploy phase runs its own `steps`. `blue-green`: deploy to the idle colour, check its health, switch the traffic to it (needs `blueGreen`). `rolling`: update `rolling.targets` batch by batch, each checked (needs `rolling`). `canary`: deploy to a canary, then raise its share of the traffic step by step, each step watched against the guards (needs `canary`).',
    ),
    blueGreen: doc(
      z.optional(BlueGreen),
      'The blue-green deploy: two colours, one live; the new version goes to the idle one, which takes the traffic once healthy. Needed by `strategy: blue-green`.',
    ),
    rolling: doc(z.optional(Rolling), 'The rolling deploy: targets updated in batches, each health-checked. Needed by `strategy: rolling`.'),
    canary: doc(
      z.optional(Canary),
      "The canary deploy: the new version on a canary, its share of the traffic raised step by step. The monitoring guards are judged at each step; a breach rolls back at once (as Argo Rollouts' and Flagger's analysis steps do). Needed by `strategy: canary`.",
    ),
    steps: doc(noSteps(), 'The deploy steps of `strategy: steps`, run one after the other; at least one is needed with that strategy.'),
  })
  .check(
    z.superRefine((d, ctx) => {
      if (d.strategy === 'blue-green' && !d.blueGreen)
        ctx.addIssue({ code: 'custom', path: ['blueGreen'], input: d, message: 'strategy blue-green needs a blueGreen section' });
      if (d.strategy === 'rolling' && !d.rolling)
        ctx.addIssue({ code: 'custom', path: ['rolling'], input: d, message: 'strategy rolling needs a rolling section' });
      if (d.strategy === 'canary' && !d.canary) ctx.addIssue({ code: 'custom', path: ['canary'], input: d, message: 'strategy canary needs a canary section' });
      if (d.strategy === 'steps' && d.steps.length === 0)
        ctx.addIssue({ code: 'custom', path: ['steps'], input: d, message: 'the deploy phase needs steps, or a blue-green, rolling or canary strategy' });
    }),
  );
export type DeployPhase = z.infer<typeof DeployPhase>;
