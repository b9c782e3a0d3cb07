import valid from 'semver/functions/valid';
import * as z from 'zod/mini';
import {
  Acceptance,
  ChecklistItem,
  ENV_REF_RE,
  Env,
  ID_RE,
  NAME_RE,
  Phase,
  Steps,
  VerificationPhase,
  distinct,
  doc,
  durationDefault,
  int,
  str,
  writtenDefault,
} from './schema-parts';
import { DeployPhase } from './schema-deploy';
import { lookAlikes, lookAlikeText, nameKey } from './names';
import { Environments, environmentIssues } from './schema-environments';
export { Step, duration, durationMs, durationText } from './schema-parts';
import { Monitoring } from './schema-monitoring';
import { RollbackDatabase } from './schema-database';
import { StoreSettings, storeDoc } from './schema-store';
export { lockKey, lockKeyProblem, type StoreSettings } from './schema-store';
export type { HttpCheck, HealthCheck, LogCheck, ChecklistItem, Acceptance, VerificationHttpCheck } from './schema-parts';
export type { DeployPhase } from './schema-deploy';

/** Attempts of a webhook wait 0.5 s, 1 s, 2 s… apart: ten retries wait 8.5 minutes in all, the most an announcement should hold a release. */
const WEBHOOK_RETRIES_MAX = 10;

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
          z._default(int(0, WEBHOOK_RETRIES_MAX), 2),
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
  noUserFacingChange: doc(
    z._default(z.enum(['refuse', 'patch']), 'refuse'),
    'What `version: auto` does when nothing since the previous release tag is listed (only hidden types such as chore, docs, ci, test, style or build). `refuse`: there is no version to propose, as conventional-recommended-bump proposes no release; a run is refused before anything runs, and validate and the dry run warn. `patch`: propose the next patch version anyway.',
  ),
});
export type ChangelogSettings = z.infer<typeof ChangelogSettings>;

export const Plan = z
  .strictObject({
    release: doc(
      z.strictObject({
        name: doc(
          str().check(
            z.refine(
              (v) => v.trim() === v && !/[\p{Cc}\p{Cf}]/u.test(v),
              'expected a name without surrounding blanks or invisible characters (runs of the same service are matched by it)',
            ),
            z.superRefine((v, ctx) => {
              const odd = lookAlikes(v);
              if (odd.length)
                ctx.addIssue({
                  code: 'custom',
                  input: v,
                  message: `expected a name without look-alike characters: ${odd.map(lookAlikeText).join(', ')} read as other letters, so "${v}" looks like the service "${nameKey(v)}" and would be matched apart from it; write the name in plain letters`,
                });
            }),
          ),
          "The service's name, in the go/no-go question, the report and the announcement; `${release.name}`. The previous version is looked up among released runs with the same name and environment, names matched case aside; a name with look-alike characters (a Cyrillic `ѕ` for `s`, full-width letters) is refused, as it would read as another service's name.",
        ),
        version: doc(
          z.union([
            z.literal('auto'),
            // semver decides (no leading zeros, a well-formed pre-release), on the text as written (it would trim
            // spaces the report and tags then carry); JSON Schema gets a format.
            z
              .string()
              .check(z.refine((v) => v.trim() === v && valid(v) !== null, 'expected a semantic version such as 1.4.0, or auto'))
              .register(z.globalRegistry, { format: 'semver' }),
          ]),
          'The version released: a semantic version such as `1.4.0` (a leading `v` is dropped), or `auto`. `auto` proposes the next version from the Conventional Commits since the previous release tag (see `changelog`) and needs a git repository. Available as `${release.version}`.',
        ),
        environment: doc(
          z._default(
            z.string().check(z.regex(ID_RE, 'expected an environment name of letters, digits, - _ . such as production, staging or prod-eu')),
            'production',
          ),
          'The environment released to, named in the go/no-go question, the report and the announcement; `${release.environment}`: letters, digits, `-`, `_`, `.`. Runs to `Staging` and `staging` are runs to the same environment.',
        ),
        production: doc(
          z.optional(z.boolean()),
          'Whether the environment is production; unset, a name with a "prod" word (production, prod, prod-eu) is, and preprod or nonprod is not. On production, a monitoring window shorter than 15 minutes is warned about.',
        ),
        tagPrefix: doc(
          z._default(z.string(), 'v'),
          'What release tags start with: version 1.4.0 is tagged `v1.4.0` with the default. The git checklist check, `version: auto` and the previous version use it.',
        ),
        redeploy: doc(
          z.optional(z.boolean()),
          "Whether a version this plan released before may be released again (a redeploy). `true` says the steps deploy `${release.version}` by its version (an image tag, a package, a build kept per version), not from the working tree, so any checkout can redeploy it: `release-pilot run --redeploy 1.3.0`, or Redeploy This Version in the Releases view. The redeploy is a normal release with every gate; the git check asks that the version's tag exists and is in the branch instead of at HEAD. Unset, a redeploy is refused: deploying the working tree under an old version's name would ship something else.",
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
    environments: Environments,
    variables: doc(
      z._default(z.record(z.string().check(z.regex(NAME_RE)), z.string()), {}),
      'Plan variables, used as `${var.NAME}` in commands, URLs and step environments. `--var NAME=VALUE` overrides one for a run: a command then reads the value from its environment as bash\'s `"${RELEASE_PILOT_VAR_NAME}"` (data, one word, never shell text), and a run is refused where the plan reads it inside single quotes or arithmetic. A value written here is put into commands as text, as written. They are not masked: a secret belongs in the environment (`${env:NAME}`).',
    ),
    env: doc(
      writtenDefault(z._default(Env, {}), {}),
      "Environment variables given to every command of the release. They reach the acceptance and checklist commands, the steps of every phase, health checks, log scans, the blue-green `active` command, `command` metrics, rollback steps and `announce.command`; a step's own `env` wins over a name set here. Values may use `${env:NAME}`, `${var.NAME}` and the release's names (`${release.version}`…), not those of a run or a colour: the checklist commands get the env too, and the tree runs them before any run exists. A name that looks like a secret (password, secret, token, api key, private key, credential) must take its value from `${env:NAME}`; every value read from `${env:…}` is masked in every output (but those under `notSecret:`), and a release does not start while one is unset. `PATH` may be set only to absolute directories (`/opt/app/bin:${env:PATH}`).",
    ),
    secrets: doc(
      z._default(z.array(z.string().check(z.regex(NAME_RE, 'expected an environment variable name'))), []),
      'Environment variables whose values are masked in every output: logs, terminal, journal, report. Every variable the plan reads as `${env:NAME}` is masked too (but those under `notSecret:`); list here the ones that steps read by themselves. A release does not start when a set value cannot be masked safely (fewer than 4 characters, only blanks, or a NUL).',
    ),
    notSecret: doc(
      z._default(z.array(z.string().check(z.regex(NAME_RE, 'expected an environment variable name'))), []),
      'Environment variables the plan reads as `${env:NAME}` whose values are not secret (`notSecret: [IMAGE_TAG, GITHUB_SHA]`): they are shown as they are. A release does not start while a masked value equals its version, its commit (full or short), its run id, its name, its environment, its user or host: name such a variable here, or under neither key. A name under `secrets:` stays masked.',
    ),
    checklist: doc(
      z._default(z.array(ChecklistItem).check(distinct('`--tick ID` and `--waive ID=REASON` name one item', { key: 'id' })), []),
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
            'The rollback steps, run in order when a rollback starts; the first step that fails stops the rollback, which ends as failed. A step that rolled back everything it could but some hosts says so with a line of its output containing `release-pilot: needs-attention HOST: WHY` (one per host): the rollback still ends rolled back, but "except HOST: WHY", in the journal (`rollback.finished` `needsAttention`), the report, the status, the tree and the announcement. Plan references are resolved, the colours included in a blue-green plan.',
          ),
          database: doc(
            z.optional(RollbackDatabase),
            'What a rollback does to the database once the code went back. It applies when the migration phase started in the run: `strategy` `code-only`, `down` or `restore`, after `steps` (the code rollback). A restore discards every write made since the backup: they are counted first (`writes`), and a restore over writes waits for a person unless `allowDataLoss` says why. Without it, a plan whose migration has steps is warned about.',
          ),
        })
        .check(
          z.superRefine((r, ctx) => {
            const lists: [string[], { timeout?: number }[]][] = [
              [['steps'], r.steps],
              [['database', 'down'], r.database?.down ?? []],
              [['database', 'restore'], r.database?.restore ?? []],
            ];
            for (const [at, steps] of lists)
              steps.forEach((s, i) => {
                if (s.timeout !== undefined && s.timeout > r.budget)
                  ctx.addIssue({
                    code: 'custom',
                    path: [...at, i, 'timeout'],
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
    store: doc(z.optional(StoreSettings), storeDoc),
    announce: doc(
      writtenDefault(z._default(Announce, { notify: true }), { notify: true }),
      'How the outcome is announced, at the end of the announcement phase and after a rollback. A failed announcement is reported, and the release still counts as released.',
    ),
  })
  .check(
    z.superRefine((p, ctx) => {
      for (const i of environmentIssues(p)) ctx.addIssue({ code: 'custom', ...i });
    }),
    z.superRefine((p, ctx) => {
      // A restore and its count need a backup taken in the same release: the marks are taken when it passes.
      const d = p.rollback.database;
      if ((d?.restore || d?.writes) && !p.phases.backup?.steps.length)
        ctx.addIssue({
          code: 'custom',
          path: ['rollback', 'database', d.restore ? 'restore' : 'writes'],
          input: d,
          message: 'a database restore (and the count of writes since the backup) needs phases.backup with steps: the backup it restores',
        });
    }),
    z.superRefine((p, ctx) => {
      // An analysis too short to confirm anything would pass a canary it never judged.
      const k = p.phases.deploy.canary;
      if (!k) return;
      const m = p.monitoring;
      const warmup = m.warmup ?? m.interval;
      const need = warmup + m.interval * Math.max(m.failureLimit, m.consecutiveErrorLimit, 2);
      if (k.analysis < need)
        ctx.addIssue({
          code: 'custom',
          path: ['phases', 'deploy', 'canary', 'analysis'],
          input: k.analysis,
          message: `an analysis of ${k.analysis / 1000} s takes ${Math.floor(k.analysis / m.interval)} sample(s) every ${m.interval / 1000} s, those of its first ${warmup / 1000} s unjudged (monitoring.warmup); a breach is confirmed after failureLimit ${m.failureLimit} and an unusable source after consecutiveErrorLimit ${m.consecutiveErrorLimit} samples in a row, so it needs at least ${need / 1000} s`,
        });
    }),
  );
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
