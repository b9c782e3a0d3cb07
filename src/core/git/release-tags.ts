import semver from 'semver';
import { git, gitResult } from './git';

export interface ReleaseTag {
  name: string;
  /** The version after the prefix, strictly semver (`v1.2.0-rc.1` → `1.2.0-rc.1`). */
  version: string;
  prerelease: boolean;
  commit: string;
  /** YYYY-MM-DD in UTC (as the run date): the tagger's date of an annotated tag, the commit's date of a lightweight one. */
  date: string;
}

/**
 * Release tags of one package: names that start with `prefix` and continue with a semantic version.
 * Filtering happens here rather than in a `git tag --list` glob, so a prefix with `*`, `?` or `[`
 * means itself. With `mergedInto`, only tags reachable from that commit.
 */
export async function releaseTags(cwd: string, prefix: string, mergedInto?: string): Promise<ReleaseTag[]> {
  const format = [
    '%(refname)',
    '%(objectname)',
    '%(*objectname)',
    '%(taggerdate:iso-strict)',
    '%(committerdate:iso-strict)',
    '%(*committerdate:iso-strict)',
  ].join('%00');
  // A repository with no commit yet: nothing is reachable from its HEAD.
  if (mergedInto && (await gitResult(cwd, ['rev-parse', '-q', '--verify', `${mergedInto}^{commit}`])).exitCode !== 0) return [];
  const args = ['for-each-ref', `--format=${format}`, ...(mergedInto ? [`--merged=${mergedInto}`] : []), 'refs/tags/'];
  const out = await git(cwd, args);
  const tags: ReleaseTag[] = [];
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [ref, object, peeled, taggerDate, commitDate, peeledCommitDate] = line.split('\0');
    const name = ref.slice('refs/tags/'.length);
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    // semver.valid accepts a leading `v`; with prefix '' a tag `v1.0.0` is not `1.0.0`.
    const version = /^\d/.test(rest) ? semver.valid(rest) : null;
    if (!version) continue;
    tags.push({
      name,
      version,
      prerelease: semver.prerelease(version) !== null,
      commit: peeled || object,
      date: utcDay(taggerDate || peeledCommitDate || commitDate),
    });
  }
  return tags.sort((a, b) => semver.rcompare(a.version, b.version));
}

const utcDay = (iso: string) => new Date(iso).toISOString().slice(0, 10);

export async function commitOf(cwd: string, ref: string): Promise<string> {
  return git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).catch(() => {
    throw new Error(`"${ref}" is not a commit, tag or branch in ${cwd}`);
  });
}

/**
 * Where the changelog of a release starts when a version serves: the release tag of that version, else the
 * commit its run recorded; undefined when git knows neither (a tag deleted, a commit from another clone).
 */
export async function servedBase(cwd: string, prefix: string, served: { version: string; commit?: string }): Promise<string | undefined> {
  const tag = `${prefix}${served.version}`;
  if ((await gitResult(cwd, ['rev-parse', '-q', '--verify', `refs/tags/${tag}^{commit}`])).exitCode === 0) return tag;
  if (
    served.commit &&
    /^[0-9a-f]{40,64}$/.test(served.commit) &&
    (await gitResult(cwd, ['rev-parse', '-q', '--verify', `${served.commit}^{commit}`])).exitCode === 0
  )
    return served.commit;
  return undefined;
}

export interface TagContext {
  /** The release tag on the `to` commit itself (the release being described), if any. */
  atTo?: ReleaseTag;
  /** The newest earlier release (stable only unless pre-releases are included). */
  previous?: ReleaseTag;
}

/**
 * What several ranges need to know about tags, read once: every release tag, the commit of each
 * `to`, and the commit graph behind them (three git calls, however many ranges).
 */
export interface TagIndex {
  tags: ReleaseTag[];
  commits: Map<string, string>;
  parents: Map<string, string[]>;
}

export async function tagIndex(cwd: string, prefix: string, tos: readonly string[]): Promise<TagIndex> {
  // Names git could read as an option or a range are left to tagContext, one by one.
  const plain = [...new Set(tos)].filter((t) => !t.startsWith('-') && !t.includes('..'));
  const [tags, hashes] = await Promise.all([
    releaseTags(cwd, prefix),
    plain.length ? git(cwd, ['rev-parse', ...plain.map((t) => `${t}^{commit}`)]).catch(() => '') : '',
  ]);
  const resolved = hashes.split('\n');
  const ok = resolved.length === plain.length && resolved.every((h) => /^[0-9a-f]{40,64}$/.test(h));
  const commits = new Map(ok ? plain.map((t, i) => [t, resolved[i]]) : []);
  const parents = new Map<string, string[]>();
  const graph = commits.size ? await git(cwd, ['rev-list', '--parents', ...new Set(commits.values())]) : '';
  for (const line of graph.split('\n')) {
    const [c, ...ps] = line.split(' ');
    if (c) parents.set(c, ps);
  }
  return { tags, commits, parents };
}

function ancestors(index: TagIndex, commit: string): Set<string> {
  const seen = new Set<string>([commit]);
  const todo = [commit];
  while (todo.length)
    for (const p of index.parents.get(todo.pop()!) ?? []) {
      if (seen.has(p)) continue;
      seen.add(p);
      todo.push(p);
    }
  return seen;
}

export async function tagContext(cwd: string, prefix: string, to: string, includePrereleases: boolean, index?: TagIndex): Promise<TagContext> {
  let toCommit: string;
  let tags: ReleaseTag[];
  if (index?.commits.has(to)) {
    toCommit = index.commits.get(to)!;
    // As `for-each-ref --merged`: the tags whose commit is `to` or one of its ancestors.
    const reachable = ancestors(index, toCommit);
    tags = index.tags.filter((t) => reachable.has(t.commit));
  } else {
    // Both at once: the tag listing takes `to` as it is, and a bad `to` is reported by commitOf.
    const listing = releaseTags(cwd, prefix, to);
    toCommit = await commitOf(cwd, to).catch(async (e: unknown) => {
      await listing.catch(() => undefined);
      throw e;
    });
    tags = await listing;
  }
  // Several release tags can share a commit (a re-tag): the one named wins, else the first release made there.
  const atTo = tags.filter((t) => t.commit === toCommit).reverse();
  const named = atTo.find((t) => t.name === to || `refs/tags/${t.name}` === to);
  return {
    atTo: named ?? atTo.find((t) => !t.prerelease) ?? atTo[0],
    previous: tags.find((t) => t.commit !== toCommit && (includePrereleases || !t.prerelease)),
  };
}

/** `1.2.0` + `rc` → `1.2.0-rc.N`, N one more than the highest `1.2.0-rc.*` tag already made (on any branch). */
export async function nextPrerelease(cwd: string, prefix: string, base: string, id: string): Promise<string> {
  let n = 0;
  for (const t of await releaseTags(cwd, prefix)) {
    const v = semver.parse(t.version)!;
    const [tid, num] = v.prerelease;
    if (`${v.major}.${v.minor}.${v.patch}` === base && tid === id && typeof num === 'number') n = Math.max(n, num);
  }
  return `${base}-${id}.${n + 1}`;
}
