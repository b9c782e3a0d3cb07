import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The links of a Markdown file and the anchors it offers, read as GitHub renders it: nothing inside a
 * fenced code block or a code span is a link or a heading; a heading's anchor is its rendered text
 * lowercased, punctuation other than '-' and '_' removed, each space a '-', and a repeat numbered
 * '-1', '-2'… (as github-slugger does); an HTML `id` or `name` is an anchor as written.
 */

/** One link or image of a file: its target as written and its line (1-based). */
export interface DocLink {
  target: string;
  line: number;
}

/** The text of a heading as GitHub renders it, before the slug: code spans kept literally, links and emphasis reduced to their text, HTML tags dropped. */
export function headingText(source: string): string {
  return source
    .split(/(`+[^`]*?`+)/)
    .map((part, i) =>
      i % 2 === 1
        ? part.replace(/^`+ ?|`+$/g, '').replace(/ $/, '')
        : part
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/<[^>]*>/g, '')
            .replace(/\\(.)/g, '$1')
            .replace(/\*+/g, '')
            .replace(/(^|[^\p{L}\p{N}])_+(?=[\p{L}\p{N}])|(?<=[\p{L}\p{N}])_+(?=[^\p{L}\p{N}_]|$)/gu, '$1'),
    )
    .join('');
}

/** GitHub's slug of a heading's rendered text (without the numbering of repeats). */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The lines of a file with fenced code blocks blanked, so that nothing in them reads as Markdown (line numbers kept). */
function unfenced(markdown: string): string[] {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  return lines.map((line) => {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === undefined) {
      if (open && !(open[1][0] === '`' && line.slice(open.index + open[0].length).includes('`'))) {
        fence = open[1];
        return '';
      }
      return line;
    }
    if (open && open[1][0] === fence[0] && open[1].length >= fence.length && line.trim() === open[1]) fence = undefined;
    return '';
  });
}

/** The text outside fences with every code span's content blanked (newlines kept), paragraph by paragraph. */
function prose(markdown: string): string {
  return unfenced(markdown)
    .join('\n')
    .split(/(\n[ \t]*\n)/)
    .map((block) => block.replace(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, (span) => span.replace(/[^\n]/g, ' ')))
    .join('');
}

const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length;

/** Every link and image target of a Markdown file: inline, reference definitions, and HTML `href`/`src`. */
export function docLinks(markdown: string): DocLink[] {
  const text = prose(markdown);
  const found: DocLink[] = [];
  const patterns = [
    /!?\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g,
    /^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)/gm,
    /<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"']*)["']/gi,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push({ target: m[1].replace(/^<|>$/g, ''), line: lineOf(text, m.index) });
  return found.sort((a, b) => a.line - b.line);
}

/** Every anchor a Markdown file offers: its headings' slugs (repeats numbered) and its HTML ids and names. */
export function docAnchors(markdown: string): Set<string> {
  const lines = unfenced(markdown);
  const headings: string[] = [];
  lines.forEach((line, i) => {
    const atx = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx) headings.push(atx[1] ?? '');
    else if (/^ {0,3}(=+|-+)[ \t]*$/.test(line) && i > 0 && /\S/.test(lines[i - 1]) && !/^ {0,3}([-*+>|#]|\d+[.)])/.test(lines[i - 1]))
      headings.push(lines[i - 1].trim());
  });
  const anchors = new Set<string>();
  const occurrences = new Map<string, number>();
  for (const h of headings) {
    const base = githubSlug(headingText(h));
    let slug = base;
    while (occurrences.has(slug)) {
      const n = occurrences.get(base)! + 1;
      occurrences.set(base, n);
      slug = `${base}-${n}`;
    }
    occurrences.set(slug, 0);
    anchors.add(slug);
  }
  for (const m of prose(markdown).matchAll(/<[a-z][a-z0-9]*\b[^>]*?\b(?:id|name)\s*=\s*["']([^"']+)["']/gi)) anchors.add(m[1]);
  return anchors;
}

/**
 * The links of `files` (relative to `root`) that GitHub could not follow, one message each: a file or
 * image that does not exist or lies outside `root`, or an `#anchor` that names no heading of its Markdown
 * target. Links with a scheme (`https:`, `mailto:`) are not followed.
 */
export function brokenLinks(root: string, files: string[]): string[] {
  const broken: string[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (file: string) => {
    if (!anchorsOf.has(file)) anchorsOf.set(file, docAnchors(fs.readFileSync(file, 'utf8')));
    return anchorsOf.get(file)!;
  };
  for (const rel of files) {
    const file = path.join(root, rel);
    for (const link of docLinks(fs.readFileSync(file, 'utf8'))) {
      const where = `${rel}:${link.line}: ${link.target || '(empty)'}`;
      if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(link.target)) continue;
      const hash = link.target.indexOf('#');
      const pathPart = hash < 0 ? link.target : link.target.slice(0, hash);
      const anchor = hash < 0 ? undefined : link.target.slice(hash + 1);
      let decoded: string;
      try {
        decoded = decodeURIComponent(pathPart);
      } catch {
        broken.push(`${where}: not a valid URL path`);
        continue;
      }
      if (pathPart === '' && anchor === undefined) {
        broken.push(`${where}: empty link`);
        continue;
      }
      const resolved = pathPart === '' ? file : decoded.startsWith('/') ? path.join(root, decoded) : path.resolve(path.dirname(file), decoded);
      const inside = path.relative(root, resolved);
      if (inside.startsWith('..') || path.isAbsolute(inside)) {
        broken.push(`${where}: outside the repository`);
        continue;
      }
      if (!fs.existsSync(resolved)) {
        broken.push(`${where}: no such file ${inside}`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!/\.md$/i.test(resolved) || !fs.statSync(resolved).isFile()) {
        if (!/^L\d+(-L\d+)?$/.test(anchor)) broken.push(`${where}: #${anchor} in a file that is not Markdown`);
        continue;
      }
      let name: string;
      try {
        name = decodeURIComponent(anchor);
      } catch {
        broken.push(`${where}: not a valid anchor`);
        continue;
      }
      if (!anchors(resolved).has(name)) broken.push(`${where}: no heading or id "${name}" in ${inside}`);
    }
  }
  return broken;
}
