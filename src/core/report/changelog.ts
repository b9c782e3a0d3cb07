import * as fs from 'node:fs';
import semver from 'semver';
import { CommitParser } from 'conventional-commits-parser';
import { git, previousTag } from '../git/git';

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
}

export type Bump = 'major' | 'minor' | 'patch';

export interface Changelog {
  previousTag: string | null;
  entries: Entry[];
  bump: Bump;
  sections: Record<Section, string[]>;
}

const parser = new CommitParser({
  headerPattern: /^(\w+)(?:\(([^)]*)\))?(!)?: (.+)$/,
  headerCorrespondence: ['type', 'scope', 'breaking', 'subject'],
  noteKeywords: ['BREAKING CHANGE', 'BREAKING-CHANGE'],
  revertPattern: /^(?:Revert|revert:)\s"?([\s\S]+?)"?\s*This reverts commit (\w+)\.?/i,
  revertCorrespondence: ['header', 'hash'],
});

/** Types that describe work on the project itself and stay out of a user-facing changelog. */
const HIDDEN = new Set(['chore', 'docs', 'style', 'test', 'ci', 'build']);

const SECTION_OF: Record<string, Section> = {
  feat: 'Added',
  fix: 'Fixed',
  perf: 'Changed',
  refactor: 'Changed',
  revert: 'Changed',
  deprecate: 'Deprecated',
  remove: 'Removed',
  security: 'Security',
};

/** Entries of one commit message: a squash-merge body with conventional bullet lines gives one entry per line. */
export function parseCommit(hash: string, message: string): Entry[] {
  const c = parser.parse(message);
  const breakingNote = c.notes.find((n) => /BREAKING/.test(n.title));
  if (c.revert) {
    return [{ section: 'Changed', text: `Reverted: ${c.revert.header ?? message.split('\n')[0]}`, hash, type: 'revert', breaking: false, conventional: true }];
  }
  if (c.type && c.subject) {
    const type = String(c.type).toLowerCase();
    const breaking = Boolean(c.breaking) || Boolean(breakingNote);
    if (HIDDEN.has(type) && !breaking) return [];
    const scope = c.scope ? `${c.scope}: ` : '';
    const text = `${breaking ? 'BREAKING: ' : ''}${scope}${c.subject}${breakingNote ? ` — ${breakingNote.text.split('\n')[0]}` : ''}`;
    const section: Section = /security/i.test(String(c.scope ?? '')) ? 'Security' : (SECTION_OF[type] ?? 'Changed');
    return [{ section: breaking && section !== 'Removed' ? (section === 'Added' ? 'Added' : 'Changed') : section, text, hash, type, scope: c.scope ?? undefined, breaking, conventional: true }];
  }
  // Squash merges: "Title (#12)" with "* feat: ..." lines in the body.
  const bullets = (c.body ?? '')
    .split('\n')
    .map((l) => l.replace(/^\s*[*-]\s+/, '').trim())
    .filter((l) => /^\w+(\([^)]*\))?!?: /.test(l));
  if (bullets.length) return bullets.flatMap((b) => parseCommit(hash, b));
  const header = message.split('\n')[0].trim();
  if (/^Merge (pull request|branch|remote-tracking branch)\b/.test(header)) return [];
  return [{ section: 'Changed', text: header, hash, breaking: false, conventional: false }];
}

export function bumpOf(entries: Entry[]): Bump {
  if (entries.some((e) => e.breaking)) return 'major';
  if (entries.some((e) => e.type === 'feat')) return 'minor';
  return 'patch';
}

/** Commits since the previous release tag (the tag at HEAD itself does not count as previous). */
export async function changelogSince(cwd: string, tagPrefix = 'v', headTag?: string): Promise<Changelog> {
  const atHead = (await git(cwd, ['tag', '--points-at', 'HEAD']).catch(() => '')).split('\n').filter(Boolean);
  const excludeHead = headTag ? atHead.includes(headTag) : atHead.some((t) => t.startsWith(tagPrefix));
  const prev = await previousTag(cwd, excludeHead);
  const range = prev ? `${prev}..HEAD` : 'HEAD';
  const SEP = '\x1e';
  const out = await git(cwd, ['log', range, '--no-merges', `--format=%H%x1f%B${SEP}`]);
  const entries: Entry[] = [];
  for (const rec of out.split(SEP)) {
    const trimmed = rec.replace(/^\n+/, '');
    if (!trimmed.trim()) continue;
    const [hash, body] = trimmed.split('\x1f');
    entries.push(...parseCommit(hash.slice(0, 7), body.trim()));
  }
  const sections = Object.fromEntries(SECTIONS.map((s) => [s, entries.filter((e) => e.section === s).map((e) => e.text)])) as Record<Section, string[]>;
  return { previousTag: prev, entries, bump: bumpOf(entries), sections };
}

export function nextVersion(previousTag: string | null, bump: Bump, tagPrefix = 'v'): string {
  const prev = previousTag ? semver.coerce(previousTag.startsWith(tagPrefix) ? previousTag.slice(tagPrefix.length) : previousTag)?.version : undefined;
  if (!prev) return bump === 'major' ? '1.0.0' : '0.1.0';
  return semver.inc(prev, bump)!;
}

/** The Keep a Changelog section for one version. */
export function renderChangelogSection(version: string, date: string, sections: Record<string, string[]>): string {
  const lines = [`## [${version}] - ${date}`, ''];
  for (const s of SECTIONS) {
    const items = sections[s] ?? [];
    if (!items.length) continue;
    lines.push(`### ${s}`, '', ...items.map((i) => `- ${i}`), '');
  }
  if (lines.length === 2) lines.push('No user-facing changes.', '');
  return lines.join('\n');
}

/** Puts the new section on top of the versions, keeping every other byte of the file as it was. */
export function insertChangelogSection(existing: string | undefined, section: string): string {
  if (!existing) return `# Changelog\n\nAll notable changes to this project are documented in this file, in the [Keep a Changelog](https://keepachangelog.com/en/1.1.0/) format.\n\n${section}`;
  const lines = existing.split('\n');
  let at = lines.findIndex((l) => /^## \[(?!Unreleased\])/i.test(l));
  if (at < 0) return existing.endsWith('\n') ? `${existing}\n${section}` : `${existing}\n\n${section}`;
  const offset = lines.slice(0, at).reduce((n, l) => n + l.length + 1, 0);
  return existing.slice(0, offset) + section + '\n' + existing.slice(offset);
}

export function updateChangelogFile(file: string, version: string, date: string, sections: Record<string, string[]>): void {
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  fs.writeFileSync(file, insertChangelogSection(existing, renderChangelogSection(version, date, sections)));
}
