import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { formatProblem } from '../core/plan/load';
import { loadChangelogPlan, type ChangelogPlan } from '../core/plan/changelog-plan';
import {
  generateChangelog,
  omittedSummary,
  renderChangelogSection,
  updateChangelogFile,
  type Changelog,
  type ChangelogOptions,
} from '../core/report/changelog';

interface Io {
  out(s: string): void;
  err(s: string): void;
}

export const CHANGELOG_HELP = `release-pilot changelog — the changelog of a range of commits; writes nothing unless --write

Usage: release-pilot changelog [options]

Options:
  --from REF               start of the range, excluded (default: the previous release tag)
  --to REF                 end of the range, included (default: HEAD)
  --path DIR               only commits that touch DIR (a package of a monorepo; plan: changelog.path)
  --tag-prefix PREFIX      release tags are PREFIX + version (default: the plan's release.tagPrefix, else v)
  --prerelease ID          propose a pre-release, e.g. rc → 1.2.0-rc.1 (plan: changelog.prerelease)
  --include-prereleases    compare with the last pre-release tag too (plan: changelog.includePrereleases)
  --json                   print the changelog, previous tag, bump and version as JSON
  --write                  put the section on top of CHANGELOG.md (of --path when given)
  --plan PATH              a plan with release:/changelog: keys (optional; default .release/plan.yaml)
  --workspace DIR          the git work tree (default: the folder that holds .release/)

The previous tag, the bump and what was left out go to stderr; the Markdown (or JSON) to stdout.
`;

const OPTIONS = {
  plan: { type: 'string' },
  workspace: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  path: { type: 'string' },
  'tag-prefix': { type: 'string' },
  prerelease: { type: 'string' },
  'include-prereleases': { type: 'boolean' },
  json: { type: 'boolean' },
  write: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** True when the first word of the command line is `changelog`, whatever options come before it. */
export function isChangelogCommand(argv: string[]): boolean {
  const values = ['--plan', '--workspace', '--var', '--tick', '--waive', '--reason', '--format'];
  for (let i = 0; i < argv.length; i++) {
    if (values.includes(argv[i])) i++;
    else if (!argv[i].startsWith('-')) return argv[i] === 'changelog';
  }
  return false;
}

type Options = ReturnType<typeof parseOptions>;

function parseOptions(argv: string[]) {
  const parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  if (parsed.positionals.length !== 1) throw new Error(`changelog takes no argument, got "${parsed.positionals.slice(1).join(' ')}"`);
  return parsed.values;
}

export async function changelogCommand(argv: string[], io: Io): Promise<number> {
  let o: Options;
  try {
    o = parseOptions(argv);
  } catch (e) {
    io.err(`release-pilot: ${(e as Error).message}\n\n${CHANGELOG_HELP}`);
    return 2;
  }
  if (o.help) {
    io.out(CHANGELOG_HELP);
    return 0;
  }
  const planFile = path.resolve(o.plan ?? '.release/plan.yaml');
  const dir = path.dirname(planFile);
  const workspace = path.resolve(o.workspace ?? (path.basename(dir) === '.release' ? path.dirname(dir) : dir));
  const loaded = loadChangelogPlan(planFile, o.plan !== undefined);
  if (!loaded.ok) {
    for (const p of loaded.problems) io.err(formatProblem({ ...p, file: path.relative(process.cwd(), p.file) || p.file }));
    return 2;
  }
  const prerelease = o.prerelease ?? loaded.plan.changelog?.prerelease;
  if (prerelease !== undefined && !/^[A-Za-z][0-9A-Za-z-]*$/.test(prerelease)) {
    io.err(`release-pilot: --prerelease expects an id such as rc, beta or alpha, got "${prerelease}"`);
    return 2;
  }
  const range = rangeOptions(o, loaded.plan, prerelease);
  let cl;
  try {
    cl = await generateChangelog(workspace, range);
  } catch (e) {
    io.err(`release-pilot: ${(e as Error).message}`);
    return 1;
  }
  const planVersion = loaded.plan.release?.version?.replace(/^v/, '');
  // A release already tagged keeps its version; otherwise a fixed plan version wins over the proposal.
  const version = cl.releaseTag || prerelease || !planVersion || planVersion === 'auto' ? cl.version : planVersion;
  const date = cl.date ?? new Date().toISOString().slice(0, 10);
  printChangelog(io, cl, { version, date, path: range.path, json: o.json });
  if (o.write) {
    const file = path.join(workspace, range.path ?? '', 'CHANGELOG.md');
    updateChangelogFile(file, version, date, cl.sections);
    io.err(`written: ${path.relative(process.cwd(), file) || file}`);
  }
  return 0;
}

/** The command line's options over the plan's `changelog:` and `release:` settings. */
function rangeOptions(o: Options, plan: ChangelogPlan, prerelease: string | undefined): ChangelogOptions {
  const settings = plan.changelog;
  return {
    tagPrefix: o['tag-prefix'] ?? plan.release?.tagPrefix ?? 'v',
    from: o.from,
    to: o.to,
    path: o.path ?? settings?.path,
    includePrereleases: o['include-prereleases'] ?? settings?.includePrereleases,
    prerelease,
    types: settings?.types,
    nonConventional: settings?.nonConventional,
  };
}

/** The changelog (Markdown or JSON) to stdout; the previous tag, the bump and what was left out to stderr. */
function printChangelog(io: Io, cl: Changelog, shown: { version: string; date: string; path: string | undefined; json: boolean | undefined }): void {
  const { version, date } = shown;
  if (shown.json) {
    io.out(
      JSON.stringify(
        {
          previousTag: cl.previousTag,
          to: cl.to,
          releaseTag: cl.releaseTag,
          path: shown.path ?? null,
          bump: cl.bump,
          version,
          date,
          sections: cl.sections,
          entries: cl.entries,
          omitted: cl.omitted,
        },
        null,
        2,
      ),
    );
  } else io.out(renderChangelogSection(version, date, cl.sections));
  const summary = omittedSummary(cl.omitted);
  io.err(
    `previous tag: ${cl.previousTag ?? 'none'}${cl.releaseTag ? `; ${cl.to} is ${cl.releaseTag}` : ''}\nbump: ${cl.bump} → ${version}${summary ? `\n${summary}` : ''}`,
  );
}
