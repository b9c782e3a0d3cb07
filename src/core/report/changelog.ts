import * as fs from 'node:fs';
import semver from 'semver';
import { git } from '../git/git';
import { commitOf, nextPrerelease, servedBase, tagContext, tagIndex, type TagContext, type TagIndex } from '../git/release-tags';
import { parseMessage, type ParsedMessage } from './conventional';

export const SECTIONS = ['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security'] as const;
export type Section = (typeof SECTIONS)[number];

export interface Entry {
  section: Section;
  text: string;
  hash: string;
  type?: string;
  scope?: string;
  breaking: boolean;
  conventional: boolean;
  /** BREAKING CHANGE notes, complete. */
  notes: string[];
}

export type Bump = 'major' | 'minor' | 'patch';

export type SectionOrHidden = Section | 'hidden';

export interface ChangelogOptions {
  tagPrefix?: string;
  /** Start of the range (exclusive); default: the previous release tag. */
  from?: string;
  /** End of the range (inclusive); default HEAD. */
  to?: string;
  /** Only commits that touch this path. */
  path?: string;
  includePrereleases?: boolean;
  /** Propose `<next>-<id>.<n>` instead of a stable version. */
  prerelease?: string;
  /** Commit type → section, over DEFAULT_TYPES. */
  types?: Record<string, SectionOrHidden>;
  nonConventional?: 'auto' | 'list' | 'omit';
}

export interface Omitted {
  /** Commits of hidden types, by type. */
  hidden: Record<string, number>;
  nonConventional: number;
  /** Commit + revert pairs that cancelled out. */
  revertPairs: number;
}

export interface Changelog {
  /** Where the range starts: the previous release tag, or `from` (for a release: the version that served before it). */
  previousTag: string | null;
  /** The release tag the proposed version goes on from, when the range starts elsewhere (a rolled-back release's tag is newer than what serves). */
  versionFrom?: string | null;
  to: string;
  /** The release tag on `to`, when `to` is already released. */
  releaseTag: string | null;
  /** The release tag's date (tagger date, or the commit date of a lightweight tag); null when `to` is untagged. */
  date: string | null;
  entries: Entry[];
  bump: Bump;
  /** The release tag's version at `to`, or the proposal from the previous release and the bump. */
  version: string;
  sections: Record<Section, string[]>;
  omitted: Omitted;
}

/**
 * What users of `conventional-changelog -p angular` expect: features, fixes and performance
 * work are listed, housekeeping types are not, unknown types are not (a breaking change always is).
 */
export const DEFAULT_TYPES: Record<string, SectionOrHidden> = {
  feat: 'Added',
  fix: 'Fixed',
  perf: 'Changed',
  deprecate: 'Deprecated',
  remove: 'Removed',
  security: 'Security',
  docs: 'hidden',
  chore: 'hidden',
  style: 'hidden',
  refactor: 'hidden',
  test: 'hidden',
  build: 'hidden',
  ci: 'hidden',
};

/** Entries of one commit message: a squash-merge body with conventional bullet lines gives one entry per line. */
export function parseCommit(hash: string, message: string, types: Record<string, SectionOrHidden> = {}): Entry[] {
  const p = parseMessage(message);
  if (p.type && p.subject) return conventionalEntry(hash, p, types);
  // Squash merges: "Title (#12)" with "* feat: ..." lines in the body.
  const bullets = p.body
    .split('\n')
    .map((l) => l.replace(/^\s*[*-]\s+/, '').trim())
    .filter((l) => /^\w+(\([^)]*\))?!?: /.test(l));
  if (bullets.length) return bullets.flatMap((b) => parseCommit(hash, b, types));
  if (/^Merge (pull request|branch|remote-tracking branch)\b/.test(p.header)) return [];
  return [{ section: 'Changed', text: p.header, hash, breaking: false, conventional: false, notes: [] }];
}

function conventionalEntry(hash: string, p: ParsedMessage, types: Record<string, SectionOrHidden>): Entry[] {
  const type = p.type!;
  const target = types[type] ?? DEFAULT_TYPES[type] ?? 'hidden';
  if (target === 'hidden' && !p.breaking) return [];
  // A breaking change keeps its type's section (a breaking fix stays under Fixed).
  let section: Section = target === 'hidden' ? 'Changed' : target;
  if (/security/i.test(p.scope ?? '') && section !== 'Removed') section = 'Security';
  const scope = p.scope ? `${p.scope}: ` : '';
  // One note follows the subject; several become a nested list, each note whole.
  const notes = p.notes.length === 1 ? ` — ${p.notes[0]}` : p.notes.map((n) => `\n- ${n.replace(/\n(?=.)/g, '\n  ')}`).join('');
  const text = `${p.breaking ? 'BREAKING: ' : ''}${scope}${p.subject}${notes}`;
  return [{ section, text, hash, type, scope: p.scope, breaking: p.breaking, conventional: true, notes: p.notes }];
}

export function bumpOf(entries: Entry[]): Bump {
  if (entries.some((e) => e.breaking)) return 'major';
  if (entries.some((e) => e.type === 'feat')) return 'minor';
  return 'patch';
}

/**
 * The changelog of a release: what reaches production with it. Its base is `served`, the version that serves
 * before this release (its tag, else the commit its run recorded); without one (no run served yet), the previous
 * release tag of `tagPrefix` (tags on HEAD itself are the release being made). The proposed version goes on
 * from the newest release tag either way, with the bump of the commits since that tag: a rolled-back 1.2.0
 * keeps its number, so the fix after it is 1.2.1, and its changelog lists 1.2.0's feature, which reaches
 * production for the first time.
 */
export async function changelogSince(
  cwd: string,
  tagPrefix = 'v',
  settings: Omit<ChangelogOptions, 'tagPrefix'> = {},
  served?: { version: string; commit?: string },
): Promise<Changelog> {
  const numbered = await generateChangelog(cwd, { ...settings, tagPrefix });
  const from = served ? await servedBase(cwd, tagPrefix, served) : undefined;
  if (!from || from === numbered.previousTag) return numbered;
  // What serves is HEAD itself (the same commit released again): the range would be empty.
  if ((await commitOf(cwd, from)) === (await commitOf(cwd, numbered.to))) return numbered;
  const shipped = await generateChangelog(cwd, { ...settings, tagPrefix, from });
  return {
    ...shipped,
    versionFrom: numbered.previousTag,
    releaseTag: numbered.releaseTag,
    date: numbered.date,
    bump: numbered.bump,
    version: numbered.version,
  };
}

interface Item {
  hash: string;
  header: string;
  entries: Entry[];
  /** Set on a conventional commit of a hidden type. */
  hiddenType?: string;
  conventional: boolean;
  /** The item this revert cancelled, so that reverting the revert brings it back. */
  cancelled?: Item;
}

/**
 * The changelog of each `to` (a whole history: one per release tag), the same as `generateChangelog`
 * for each, with the tags and the commit graph read once instead of once per range.
 */
export async function generateChangelogs(cwd: string, tos: readonly string[], o: Omit<ChangelogOptions, 'to'> = {}): Promise<Changelog[]> {
  const index = await tagIndex(cwd, o.tagPrefix ?? 'v', tos);
  const out: Changelog[] = [];
  for (const to of tos) out.push(await generateChangelog(cwd, { ...o, to }, index));
  return out;
}

// Ends each commit of `git log`: hash and message are split by \x1f.
const RECORD_SEP = '\x1e';

export async function generateChangelog(cwd: string, o: ChangelogOptions = {}, index?: TagIndex): Promise<Changelog> {
  const prefix = o.tagPrefix ?? 'v';
  const to = o.to ?? 'HEAD';
  const ctx = await tagContext(cwd, prefix, to, Boolean(o.includePrereleases), index);
  const start = o.from ?? ctx.previous?.name ?? null;
  if (o.from) await commitOf(cwd, o.from);
  const range = start ? [`${start}..${to}`] : [to];
  const out = await git(cwd, ['log', ...range, '--no-merges', '--reverse', `--format=%H%x1f%B${RECORD_SEP}`, '--', ...(o.path ? [o.path] : [])]);
  const { live, revertPairs, anyConventional } = liveItems(out, o.types);
  const mode = o.nonConventional ?? 'auto';
  const listOthers = mode === 'list' || (mode === 'auto' && !anyConventional);
  const { entries, omitted } = listedEntries(live, listOthers, revertPairs);
  const bump = bumpOf(entries);
  const sections = Object.fromEntries(SECTIONS.map((s) => [s, entries.filter((e) => e.section === s).map((e) => e.text)])) as Record<Section, string[]>;
  return {
    previousTag: start,
    to,
    releaseTag: ctx.atTo?.name ?? null,
    date: ctx.atTo?.date ?? null,
    entries,
    bump,
    version: await proposeVersion(cwd, prefix, o, ctx, bump),
    sections,
    omitted,
  };
}

/** The commits of a `git log` that still count, oldest first: a commit and its revert cancel out. */
function liveItems(log: string, types: ChangelogOptions['types']): { live: Item[]; revertPairs: number; anyConventional: boolean } {
  const live: Item[] = [];
  // Reverts that cancelled a commit, kept so that a revert of the revert can undo the cancelling.
  const cancelling: Item[] = [];
  let revertPairs = 0;
  let anyConventional = false;
  for (const rec of log.split(RECORD_SEP)) {
    const trimmed = rec.replace(/^\n+/, '');
    if (!trimmed.trim()) continue;
    const [hash, body] = trimmed.split('\x1f');
    const p = parseMessage(body);
    anyConventional ||= Boolean(p.type && p.subject) || Boolean(p.revert);
    if (p.revert) {
      revertPairs += applyRevert(live, cancelling, hash, p.header, p.revert);
      continue;
    }
    const entries = parseCommit(hash.slice(0, 7), body, types);
    const conventional = Boolean(p.type && p.subject) || entries.some((e) => e.conventional);
    live.push({ hash, header: p.header, entries, conventional, hiddenType: conventional && !entries.length ? p.type : undefined });
  }
  return { live, revertPairs, anyConventional };
}

/** Takes one revert into the live commits; returns the change to the count of cancelled pairs. */
function applyRevert(live: Item[], cancelling: Item[], hash: string, header: string, revert: NonNullable<ParsedMessage['revert']>): number {
  const target = revertTarget(live, revert);
  if (target) {
    live.splice(live.indexOf(target), 1);
    if (target.cancelled) live.push(target.cancelled);
    cancelling.push({ hash, header, entries: [], conventional: true, cancelled: target });
    return target.cancelled ? 0 : 1;
  }
  // Reverting a revert that cancelled a commit brings the commit back.
  const undone = revertTarget(cancelling, revert);
  if (undone?.cancelled) {
    cancelling.splice(cancelling.indexOf(undone), 1);
    live.push(undone.cancelled);
    return -1;
  }
  const text = `Reverted: ${revert.header}${revert.suffix ? ` ${revert.suffix}` : ''}`;
  const entry: Entry = { section: 'Changed', text, hash: hash.slice(0, 7), type: 'revert', breaking: false, conventional: true, notes: [] };
  live.push({ hash, header, entries: [entry], conventional: true });
  return 0;
}

/** The entries to list, newest first as a changelog reads, and the count of what is left out. */
function listedEntries(live: Item[], listOthers: boolean, revertPairs: number): { entries: Entry[]; omitted: Omitted } {
  const omitted: Omitted = { hidden: {}, nonConventional: 0, revertPairs };
  const entries: Entry[] = [];
  for (const item of live.reverse()) {
    if (item.hiddenType) omitted.hidden[item.hiddenType] = (omitted.hidden[item.hiddenType] ?? 0) + 1;
    if (!item.conventional && item.entries.length && !listOthers) {
      omitted.nonConventional++;
      continue;
    }
    entries.push(...item.entries);
  }
  return { entries, omitted };
}

/** The live commit a revert undoes: by hash when the message names it, else by header (rebases and squash merges change hashes). */
function revertTarget(live: Item[], r: NonNullable<ParsedMessage['revert']>): Item | undefined {
  if (r.hash) {
    const byHash = live.find((i) => i.hash.startsWith(r.hash!));
    if (byHash) return byHash;
  }
  for (let k = live.length - 1; k >= 0; k--) if (live[k].header === r.header) return live[k];
  return undefined;
}

async function proposeVersion(cwd: string, prefix: string, o: ChangelogOptions, ctx: TagContext, bump: Bump): Promise<string> {
  if (ctx.atTo) return ctx.atTo.version;
  const base = nextVersion(ctx.previous?.name ?? null, bump, prefix);
  return o.prerelease ? nextPrerelease(cwd, prefix, base, o.prerelease) : base;
}

export function nextVersion(previousTag: string | null, bump: Bump, tagPrefix = 'v'): string {
  const bare = previousTag?.startsWith(tagPrefix) ? previousTag.slice(tagPrefix.length) : previousTag;
  // A pre-release keeps its tag: after 2.0.0-beta.3 a patch is 2.0.0, not 2.0.1.
  const prev = bare ? (semver.valid(bare) ?? semver.coerce(bare)?.version) : undefined;
  if (!prev) return bump === 'major' ? '1.0.0' : '0.1.0';
  return semver.inc(prev, bump)!;
}

/** One line for what the changelog leaves out, or '' when it leaves out nothing. */
export function omittedSummary(o: Omitted): string {
  const hidden = Object.entries(o.hidden).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const n = hidden.reduce((s, [, c]) => s + c, 0);
  const parts = [
    n ? `${n} commit(s) of hidden types (${hidden.map(([t, c]) => `${t} ${c}`).join(', ')})` : '',
    o.nonConventional ? `${o.nonConventional} non-conventional commit(s)` : '',
    o.revertPairs ? `${o.revertPairs} commit(s) reverted in the same range, with their reverts` : '',
  ].filter(Boolean);
  return parts.length ? `Not listed: ${parts.join('; ')}.` : '';
}

/** The Keep a Changelog section for one version. */
export function renderChangelogSection(version: string, date: string, sections: Record<string, string[]>): string {
  const lines = [`## [${version}] - ${date}`, ''];
  for (const s of SECTIONS) {
    const items = sections[s] ?? [];
    if (!items.length) continue;
    lines.push(`### ${s}`, '', ...items.map((i) => `- ${i.replace(/\n(?=.)/g, '\n  ')}`), '');
  }
  if (lines.length === 2) lines.push('No user-facing changes.', '');
  return lines.join('\n');
}

/** Puts the new section on top of the versions, keeping every other byte of the file as it was. */
export function insertChangelogSection(existing: string | undefined, section: string): string {
  if (!existing)
    return `# Changelog\n\nAll notable changes to this project are documented in this file, in the [Keep a Changelog](https://keepachangelog.com/en/1.1.0/) format.\n\n${section}`;
  const lines = existing.split('\n');
  const at = lines.findIndex((l) => /^## \[(?!Unreleased\])/i.test(l));
  if (at < 0) return existing.endsWith('\n') ? `${existing}\n${section}` : `${existing}\n\n${section}`;
  const offset = lines.slice(0, at).reduce((n, l) => n + l.length + 1, 0);
  return existing.slice(0, offset) + section + '\n' + existing.slice(offset);
}

export function updateChangelogFile(file: string, version: string, date: string, sections: Record<string, string[]>): void {
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  fs.writeFileSync(file, insertChangelogSection(existing, renderChangelogSection(version, date, sections)));
}
