import * as z from 'zod/mini';
import { COUNT_MAX, ID_RE, duration, durationDefault, NAME_RE, doc, int, str } from './schema-parts';

/** An instant with its offset written out: a freeze in "local time" would mean another hour on each machine. */
export const ZONED_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
/** Date.parse takes February 30 as March 2: each field must be one the calendar has. */
function realDate(v: string): boolean {
  const [y, mo, d, h, mi, s = 0] = v.match(/\d+/g)!.slice(0, 6).map(Number);
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(v);
  const day = new Date(Date.UTC(y, mo - 1, d));
  return (
    day.getUTCMonth() === mo - 1 &&
    day.getUTCDate() === d &&
    h < 24 &&
    mi < 60 &&
    s < 60 &&
    (!offset || (Number(offset[2]) <= 14 && Number(offset[3]) < 60)) &&
    !Number.isNaN(Date.parse(v))
  );
}
// A function, not one shared schema: a description is registered per schema object, and `from` and `to` would share it.
const zonedTime = () =>
  z
    .string()
    .check(
      z.refine(
        (v) => ZONED_TIME_RE.test(v) && realDate(v),
        'expected an ISO date and time with its time zone, such as 2026-12-24T00:00:00+01:00 or 2026-12-24T00:00Z',
      ),
    );

/** An age is compared with dates, never waited on: ten years is a bound, not a timer's. */
const MAX_AGE_MS = 3650 * 86_400_000;

const FreezeWindow = z.strictObject({
  from: doc(zonedTime(), 'When the freeze starts (inclusive): an ISO date and time with its zone (`Z` or `+01:00`).'),
  to: doc(zonedTime(), 'When the freeze ends (exclusive), written like `from`; it must be after `from`.'),
  reason: doc(str(), 'Why releases are refused then; the refusal quotes it.'),
});

export const Environment = z.strictObject({
  production: doc(z.optional(z.boolean()), 'Whether this environment is production; unset, a name with a "prod" word is. Overrides `release.production`.'),
  variables: doc(
    z._default(z.record(z.string().check(z.regex(NAME_RE)), z.string()), {}),
    "Values of plan variables for this environment, over the plan's `variables` (URLs, hosts, inventories). Each one must be declared under `variables`, with the value other environments get.",
  ),
  monitoring: doc(
    z.optional(
      z.strictObject({
        window: doc(z.optional(duration()), "This environment's monitoring window, instead of `monitoring.window`."),
        shortWindowReason: doc(z.optional(str()), 'Why this environment watches for less than 15 minutes, instead of `monitoring.shortWindowReason`.'),
      }),
    ),
    'Monitoring settings for this environment, over the `monitoring` section.',
  ),
  requires: doc(
    z.optional(
      z.strictObject({
        released: doc(
          z.string().check(z.regex(ID_RE, 'expected the name of another environment of the plan')),
          'The environment this version must have been released to first: a run of the same service, version and commit that ended `released`, with its monitoring passed.',
        ),
        maxAge: durationDefault(7 * 86_400_000, 'How old that release may be, from its end: `12h`, `7d`. Default 7d.', {
          max: MAX_AGE_MS,
          noun: 'an age such as 12h or 7d',
        }),
      }),
    ),
    'Promotion: the release is refused unless the same version and commit was released to another environment first.',
  ),
  approvals: doc(
    z.optional(
      z.strictObject({
        count: doc(
          z._default(int(1, COUNT_MAX), 1),
          'How many different people must approve (`release-pilot approve`). The person who starts the release never counts.',
        ),
        from: doc(
          z._default(z.array(str()), []),
          'Who may approve, by git `user.email` or `user.name` (compared without case). Empty: anyone but the person who starts the release. With `signed: true`, by email only: a signature proves a key, which the allowed signers file (or a certified gpg user ID) binds to an email, never to a name.',
        ),
        signed: doc(
          z._default(z.boolean(), false),
          "Whether an approval counts only when the approver signed its tag. The key must be one `git verify-tag` trusts: for SSH, listed in `gpg.ssh.allowedSignersFile` for the approver's email; for GPG, with a user ID of that email gpg holds fully valid.",
        ),
      }),
    ),
    'Approvals recorded in git as annotated tags on the release commit, for this plan as written. The tags are `release-pilot/approval/<environment>/<version>/…`; another commit or a changed plan voids them.',
  ),
  freeze: doc(
    z._default(z.array(FreezeWindow), []),
    'Periods when releases to this environment are refused, with the reason. `--override-freeze REASON` (or the prompt in VS Code) releases anyway and journals the reason.',
  ),
});
export type Environment = z.infer<typeof Environment>;

/**
 * Names an object already has (`__proto__`, `constructor`, `toString`…): as a key of a plain object, `__proto__`
 * sets the prototype and the environment vanishes, and a lookup by any of them can find Object.prototype's member.
 */
const RESERVED_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype'].map((n) => n.toLowerCase()));
const EnvironmentName = z.string().check(
  z.regex(ID_RE, 'expected an environment name of letters, digits, - _ .'),
  z.refine((n) => !RESERVED_NAMES.has(n.toLowerCase()), 'this name is reserved by JavaScript objects (__proto__, constructor, toString…): choose another name'),
);

export const Environments = doc(
  z.optional(z.record(EnvironmentName, Environment)),
  'The environments this plan releases to (`staging`, `production`), each with its own values over the shared phases. With environments, every run names one (`release-pilot run --env staging`; VS Code asks), and `release.environment` is that name.',
);

type Issue = { path: (string | number)[]; input: unknown; message: string };

/** What the schema cannot say about environments: names that must exist, windows that must end after they start. */
export function environmentIssues(p: { variables: Record<string, string>; environments?: Record<string, Environment> }): Issue[] {
  const issues: Issue[] = [];
  const envs = p.environments ?? {};
  const names = Object.keys(envs);
  const lower = names.map((n) => n.toLowerCase());
  names.forEach((name, i) => {
    const e = envs[name];
    if (lower.indexOf(name.toLowerCase()) !== i)
      issues.push({ path: ['environments', name], input: name, message: `environment ${name} is named twice (names are compared without case)` });
    for (const v of Object.keys(e.variables))
      if (!Object.hasOwn(p.variables, v))
        issues.push({
          path: ['environments', name, 'variables', v],
          input: v,
          message: `variable ${v} is not declared under variables: declare it there with the value the other environments get`,
        });
    const req = e.requires?.released;
    if (req !== undefined) {
      if (req.toLowerCase() === name.toLowerCase())
        issues.push({ path: ['environments', name, 'requires', 'released'], input: req, message: 'an environment cannot require a release to itself' });
      else if (!lower.includes(req.toLowerCase()))
        issues.push({
          path: ['environments', name, 'requires', 'released'],
          input: req,
          message: `no environment is named ${req}; expected one of: ${names.filter((n) => n !== name).join(', ') || '(no other environment)'}`,
        });
    }
    const a = e.approvals;
    if (a?.signed)
      a.from.forEach((f, k) => {
        if (!/^[^\s<>@]+@[^\s<>@]+$/.test(f.trim()))
          issues.push({
            path: ['environments', name, 'approvals', 'from', k],
            input: f,
            message: `with signed: true, list approvers by email: a signature proves a key, which the allowed signers (or gpg's certified user IDs) bind to an email, never to a name; write ${JSON.stringify(f)}'s git user.email instead`,
          });
      });
    const distinct = new Set(a?.from.map((f) => f.normalize('NFKC').trim().toLowerCase()));
    if (a && distinct.size > 0 && a.count > distinct.size)
      issues.push({
        path: ['environments', name, 'approvals', 'count'],
        input: a.count,
        message: `${a.count} approvals can never be given: only ${distinct.size} ${distinct.size === 1 ? 'person is' : 'different people are'} listed in from (${a.from.join(', ')})`,
      });
    e.freeze.forEach((w, k) => {
      if (Date.parse(w.to) <= Date.parse(w.from))
        issues.push({ path: ['environments', name, 'freeze', k, 'to'], input: w.to, message: `a freeze must end after it starts (from ${w.from})` });
    });
  });
  return issues;
}
