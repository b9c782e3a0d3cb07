// The plan schema's building blocks: environments, steps, checks, phases, the checklist and
// the acceptance verdict. `schema.ts` assembles the plan from them.
// zod/mini: the same schemas and issues as zod's classic API, tree-shakable (26 KB where the classic
// namespace brings 440 KB into every bundle).
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { COUNT_MAX, doc, duration, durationDefault, int, writtenDefault } from './schema-values';

z.config(en());

export * from './schema-values';

export const str = () => z.string().check(z.minLength(1));

/**
 * Why HTTP cannot send a header value (a line break, a NUL, a character beyond Latin-1), never
 * quoting it: the value may hold a secret. Undefined when it can.
 */
export function headerValueProblem(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
  const bad = /[\r\n\0]|[^\u0000-\u00ff]/u.exec(value);
  if (!bad) return undefined;
  const cp = bad[0].codePointAt(0)!;
  const what =
    cp === 13 || cp === 10 ? 'a line break' : cp === 0 ? 'a NUL' : `a character beyond Latin-1 (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
  return `the header value holds ${what} at position ${bad.index + 1}, which HTTP cannot send`;
}
/** A check that exactly one of `keys` is set: an item's one check, a metric's one source. */
export function exactlyOne<T extends object>(keys: readonly (keyof T & string)[], needs: string) {
  return z.refine<T>((v) => keys.filter((k) => v[k] !== undefined).length === 1, {
    message: `${needs}: ${keys.slice(0, -1).join(', ')} or ${keys.at(-1)}`,
  });
}
export const ENV_REF_RE = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;
export const SECRET_NAME_RE = /(pass(word)?|secret|token|api[_-]?key|private[_-]?key|credential)/i;
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The longest value a plan writes for a variable: Linux refuses a single variable over 128 KiB (E2BIG) when the step starts. */
export const ENV_VALUE_MAX = 32_768;
/** A `PATH` the plan sets keeps absolute directories (or references) only: a relative entry or an empty PATH hides bash itself. */
const PATH_ENTRY_RE = /^(\/[^:]*|\$\{[^}]+\}[^:]*)$/;
/** Characters that look like the `:` that separates PATH entries but are not one (fullwidth, ratio, modifier letter…). */
const COLON_LOOKALIKES_RE = /[\uff1a\u2236\ua789\u02d0\u02f8\u0589\u05c3\ufe13\ufe55\u1361\u205a\u0703\u0704]/u;

/**
 * What is wrong with one entry of a PATH, once every reference in it is resolved (undefined when it is
 * an absolute directory): the PATH rule applied to the value the steps get, not only to the plan's text.
 */
export function pathEntryProblem(entry: string): string | undefined {
  if (entry === '') return 'is empty (bash reads an empty entry as the current folder)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(entry)) return 'holds a control character (a newline, a tab…)';
  if (COLON_LOOKALIKES_RE.test(entry)) return 'holds a character that looks like ":" but does not separate entries';
  if (!entry.startsWith('/'))
    return `is relative${entry.startsWith('~') ? ' (bash does not expand ~ in PATH)' : ''}: it depends on the folder a command runs in`;
  return undefined;
}

export const Env = z
  .record(z.string().check(z.regex(NAME_RE, 'expected an environment variable name: a letter or _, then letters, digits or _')), z.string())
  .check(
    z.superRefine((env, ctx) => {
      for (const [k, v] of Object.entries(env)) {
        if (v.includes('\0'))
          ctx.addIssue({ code: 'custom', path: [k], input: v, message: `"${k}" holds a NUL character, which no environment variable can carry` });
        if (v.length > ENV_VALUE_MAX)
          ctx.addIssue({
            code: 'custom',
            path: [k],
            input: v.slice(0, 40),
            message: `"${k}" is ${v.length} characters long; expected at most ${ENV_VALUE_MAX} (keep large data in a file and pass its path)`,
          });
        if (
          k === 'PATH' &&
          !v
            .replace(/\$\{[^}]*\}/g, '${ref}')
            .split(':')
            .every((e) => PATH_ENTRY_RE.test(e) && (e.startsWith('${') || !pathEntryProblem(e)))
        )
          ctx.addIssue({
            code: 'custom',
            path: [k],
            input: v,
            message:
              'PATH must list absolute directories separated by ":", such as /opt/app/bin:${env:PATH}; an empty or relative entry would hide bash and the tools the steps run',
          });
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
    "The command, run by bash in the workspace folder (or `cwd`) with Release Pilot's environment plus `env`; exit code 0 passes. Plan references (`${var.NAME}`, `${release.version}`…) are resolved before bash sees the text; `${env:NAME}` becomes bash's own `${NAME}` (so a value is never parsed as shell code; not allowed inside single quotes); any other `${…}` is left to the shell. Output goes to the step's log under `.release/runs/<run-id>/logs` and to the terminal.",
  ),
  cwd: doc(z.optional(z.string()), 'The folder the step runs in, relative to the workspace. Default: the workspace folder. Used as written (no references).'),
  env: doc(
    z.optional(Env),
    "Environment variables for this step, added over Release Pilot's own environment. Values may use plan references: `${env:NAME}`, `${var.NAME}`, the built-in names. A name that looks like a secret (password, secret, token, api key, private key, credential) must take its value from `${env:NAME}`, so the value stays out of the plan.",
  ),
  timeout: doc(
    z.optional(duration()),
    'How long the step may run before it is ended and fails. Every process it started (its cgroup where the system has one; otherwise its process group, what carries its mark and the descendants seen while it ran) gets SIGTERM, then SIGKILL 3 s later. The step ends when its shell exits: a daemon it leaves holding its output does not keep it running. Default: 15m; in `rollback.steps`, what is left of `rollback.budget`.',
  ),
  outputCapMiB: doc(
    z.optional(int(1, 1024)),
    'The most output of the step kept, in MiB (1 to 1024; default 16): what its log holds and the terminal shows. Past it the step keeps running and its output is read but not kept; the log ends with a line saying how many bytes were not kept.',
  ),
  production: doc(
    z.optional(z.boolean()),
    'Ask for a confirmation naming the environment before this step runs. The CLI runs it only with `--yes` or when a person at the terminal says yes; a step not confirmed pauses the release.',
  ),
});
export type Step = z.infer<typeof Step>;

export const Steps = z.array(Step);
export const noSteps = () => writtenDefault(z._default(Steps, []), []);

export const HttpCheck = z
  .strictObject({
    name: doc(
      z.optional(z.string()),
      "The check's name in the tree and the report; a health check does not use it (it is named after its colour or target). Default: the method and the URL.",
    ),
    url: doc(str(), 'The URL requested. Plan references are resolved.'),
    method: doc(
      z._default(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']), 'GET'),
      'The HTTP method of the request. A body is sent only when `requestBody` gives one.',
    ),
    headers: doc(
      z.optional(
        z.record(
          z.string().check(z.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name')),
          z.string().check(z.refine((v) => headerValueProblem(v) === undefined, { error: (i) => headerValueProblem(String(i.input)) })),
        ),
      ),
      'Request headers, by name (`Content-Type: application/json`, `Authorization: Bearer ${env:API_TOKEN}`). Plan references are resolved; values from `${env:…}` are masked in every output.',
    ),
    requestBody: doc(
      z.optional(z.string()),
      'The request body, sent as written after plan references are resolved (a GraphQL query, a JSON document); give its `Content-Type` in `headers`.',
    ),
    status: doc(z._default(int(100, 599), 200), 'The HTTP status the response must have, exactly. Redirects are not followed: a 301 is compared as 301.'),
    body: doc(
      z.optional(z.string()),
      'A regular expression the response body must match. JavaScript syntax, case-sensitive, matched anywhere in the body (anchor it with `^…$` for the whole body).',
    ),
    maxLatency: doc(z.optional(duration()), 'The longest the response may take, body included; a slower answer fails the check. Default: no limit.'),
    timeout: durationDefault(10_000, 'How long to wait for the response; no answer in time fails the attempt.'),
  })
  .check(
    z.refine((c) => c.requestBody === undefined || !['GET', 'HEAD'].includes(c.method), {
      message: 'a request body needs a method that sends one (POST, PUT, PATCH, DELETE or OPTIONS), not GET or HEAD',
      path: ['requestBody'],
    }),
  );
export type HttpCheck = z.infer<typeof HttpCheck>;

/** One schema per use, so each carries its own description. */
export const healthCheck = (description: string) =>
  doc(
    z
      .strictObject({
        http: doc(z.optional(HttpCheck), 'An HTTP request that must get the expected answer.'),
        run: doc(
          z.optional(z.string()),
          'A command that passes when it exits 0: bash in the workspace folder, at most 30 s per attempt. Plan references are resolved.',
        ),
        retries: doc(z._default(int(0, COUNT_MAX), 10), 'How many more attempts are made after a failed one; the check fails when the last attempt fails.'),
        interval: durationDefault(1_000, 'The pause between two attempts; `0` tries again at once.', { zero: 'tries again at once' }),
      })
      .check(z.refine((h) => Boolean(h.http) !== Boolean(h.run), { message: 'a health check needs exactly one of http or run' })),
    description,
  );
export type HealthCheck = z.infer<ReturnType<typeof healthCheck>>;

export const LogCheck = z.strictObject({
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

export const Phase = z.strictObject({
  steps: doc(
    noSteps(),
    "The phase's steps, run one after the other. When a step fails, the release asks what to do: retry, roll back (once production was touched), pause, or waive it with a reason. A phase without steps is skipped.",
  ),
});

export const VerificationHttpCheck = z.extend(HttpCheck, {
  core: doc(
    z.optional(z.boolean()),
    'Marks the check that the report\'s "Core API" line speaks for; one check at most. Unmarked, the first check whose name or URL has the word "api" is taken; `core: false` keeps a check out of that choice.',
  ),
  retries: doc(
    z._default(int(0, 20), 0),
    'How many more times a failed check is tried before it counts as failed (a service still warming up after the switch). Default: 0, one attempt.',
  ),
  retryDelay: durationDefault(
    1_000,
    'The pause before the first retry; each further retry waits twice as long as the one before (backoff), up to a minute. `0` retries at once.',
    { zero: 'retries at once' },
  ),
});
export type VerificationHttpCheck = z.infer<typeof VerificationHttpCheck>;

export const VerificationPhase = z
  .strictObject({
    steps: doc(noSteps(), 'Steps run first in the verification phase, one after the other (smoke tests, for example).'),
    http: doc(
      writtenDefault(z._default(z.array(VerificationHttpCheck), []), []),
      'HTTP checks run after the verification steps, each tried up to `retries` more times. A check still failing asks: retry, roll back, pause or waive.',
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

export const GitCheck = z.strictObject({
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

export const ChecklistItem = z
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
  .check(exactlyOne(['git', 'files', 'run', 'manual'], 'a checklist item needs exactly one check'));
export type ChecklistItem = z.infer<typeof ChecklistItem>;

export const Acceptance = z
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

/** A YAML scalar as a message quotes it: JSON has no infinity (1e400 loads as Infinity, which JSON writes as null). */
export const scalarText = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `${v} (not a finite number)` : JSON.stringify(v));
