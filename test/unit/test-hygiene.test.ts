import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../support/helpers';

/**
 * The tests read as documentation and do not wait blindly. Three rules over the sources of
 * test/unit and test/system: no wait longer than 200 ms unless a comment says what it waits for;
 * no unit test asserting on elapsed wall time (those figures belong to `npm run bench`); no title or
 * comment naming a review id where it should name the behaviour.
 */

const LONGEST_WAIT_MS = 200;
/** What a comment says beside a long wait: what it waits for, or that a server is slow on purpose. */
const SAYS_WHY = /\bwaits? for\b|\banswers slowly\b/i;
const REVIEW_ID = /\battack\d+\b|\b[HMLF]\d{1,2}\b|\bCI\d+\b/;

interface Scanned {
  /** The source with every comment and string blanked (spaces; newlines kept): offsets are the source's. */
  code: string;
  comments: { line: number; text: string }[];
}

/** Splits a TypeScript source into its code and its comments; template literals' `${…}` stay code. */
function scan(src: string): Scanned {
  const out = src.split('');
  const comments: Scanned['comments'] = [];
  const lineAt = (i: number) => src.slice(0, i).split('\n').length;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  // What the scanner is inside: code (with its open braces counted, to find the end of a `${`) or a template.
  const stack: ('template' | number)[] = [0];
  let i = 0;
  while (i < src.length) {
    const top = stack[stack.length - 1];
    const c = src[i];
    if (top === 'template') {
      if (c === '\\') i += 2;
      else if (c === '`') {
        stack.pop();
        i++;
      } else if (c === '$' && src[i + 1] === '{') {
        stack.push(0);
        i += 2;
      } else {
        if (c !== '\n') out[i] = ' ';
        i++;
      }
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      const end = src.indexOf('\n', i) < 0 ? src.length : src.indexOf('\n', i);
      comments.push({ line: lineAt(i), text: src.slice(i, end) });
      blank(i, end);
      i = end;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2) < 0 ? src.length : src.indexOf('*/', i + 2) + 2;
      src
        .slice(i, end)
        .split('\n')
        .forEach((text, k) => comments.push({ line: lineAt(i) + k, text }));
      blank(i, end);
      i = end;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      blank(i + 1, j);
      i = j + 1;
    } else if (c === '`') {
      stack.push('template');
      i++;
    } else if (c === '{') {
      stack[stack.length - 1] = top + 1;
      i++;
    } else if (c === '}') {
      if (top === 0 && stack.length > 1) stack.pop();
      else stack[stack.length - 1] = top - 1;
      i++;
    } else i++;
  }
  return { code: out.join(''), comments };
}

/** The top-level arguments of the call whose `(` is at `open` (the first `max` of them): each with its span. */
function callArgs(code: string, open: number, max = Infinity): { at: number; end: number; text: string }[] {
  const args: { at: number; end: number; text: string }[] = [];
  let depth = 0;
  let from = open + 1;
  for (let k = open; k < code.length && args.length < max; k++) {
    const c = code[k];
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    if ((c === ',' && depth === 1) || depth === 0) {
      if (code.slice(from, k).trim() !== '') args.push({ at: from, end: k, text: code.slice(from, k).trim() });
      from = k + 1;
    }
    if (depth === 0) break;
  }
  return args;
}

const lineOf = (src: string, at: number) => src.slice(0, at).split('\n').length;

/** The waits in `src` longer than 200 ms whose line, or the comment just above it, does not say what they wait for. */
export function unexplainedWaits(src: string): { line: number; ms: number }[] {
  const { code, comments } = scan(src);
  const constants = new Map<string, number>();
  for (const m of code.matchAll(/\bconst\s+([A-Za-z_$][\w$]*)\s*=\s*(\d[\d_]*(?:\.\d+)?(?:e\d+)?)\s*;/g)) constants.set(m[1], Number(m[2].replace(/_/g, '')));
  const valueOf = (arg: string | undefined): number | undefined => {
    if (arg === undefined) return undefined;
    if (/^\d[\d_]*(?:\.\d+)?(?:e\d+)?$/.test(arg)) return Number(arg.replace(/_/g, ''));
    return constants.get(arg);
  };
  const lines = src.split('\n');
  const explained = (line: number) => {
    if (SAYS_WHY.test(lines[line - 1] ?? '')) return true;
    // The comment block just above the line.
    for (let l = line - 1; l >= 1 && comments.some((c) => c.line === l) && /^\s*(\/\/|\/\*|\*)/.test(lines[l - 1]); l--)
      if (SAYS_WHY.test(lines[l - 1])) return true;
    return false;
  };
  const found: { line: number; ms: number }[] = [];
  const look = (callAt: number, ms: number | undefined, msAt: number) => {
    if (ms === undefined || !(ms > LONGEST_WAIT_MS)) return;
    const line = lineOf(src, callAt);
    if (!explained(line) && !explained(lineOf(src, msAt))) found.push({ line, ms });
  };
  for (const m of code.matchAll(/\bsetTimeout\s*\(/g)) {
    const args = callArgs(code, m.index + m[0].length - 1);
    // timers/promises' setTimeout(ms) or the global setTimeout(fn, ms).
    const first = valueOf(args[0]?.text);
    if (first !== undefined) look(m.index, first, args[0].at);
    else if (args[1]) look(m.index, valueOf(args[1].text), args[1].at);
  }
  for (const m of code.matchAll(/\b(?:sleep|pause|delay|wait)\s*\(/g)) {
    const args = callArgs(code, m.index + m[0].length - 1);
    if (args[0]) look(m.index, valueOf(args[0].text), args[0].at);
  }
  return found.sort((a, b) => a.line - b.line);
}

/** Lines of `src` that assert on elapsed wall time (`Date.now()`, `performance.now()`, `hrtime`, or a name taken from them). */
export function wallTimeAssertions(src: string): number[] {
  const { code } = scan(src);
  const clock = /\b(?:Date|performance)\.now\(\)|\bhrtime\b/;
  // A name holding an elapsed time: assigned from a clock reading minus something.
  const names = [...code.matchAll(/\b(?:const|let)\s+([A-Za-z_$][\w$]*)\s*=\s*[^;\n]*?(?:\b(?:Date|performance)\.now\(\)|\bhrtime(?:\.bigint)?\(\))\s*-/g)].map(
    (m) => m[1],
  );
  const named = names.length ? new RegExp(`\\b(?:${names.join('|')})\\b`) : undefined;
  const found: number[] = [];
  code.split('\n').forEach((line, k) => {
    if (/\bassert\b/.test(line) && (clock.test(line) || named?.test(line))) found.push(k + 1);
  });
  return found;
}

/** Lines whose test title (it, describe) or comment cites a review id. */
export function reviewIds(src: string): number[] {
  const { code, comments } = scan(src);
  const found = new Set<number>();
  for (const c of comments) if (REVIEW_ID.test(c.text)) found.add(c.line);
  for (const m of code.matchAll(/\b(?:it|describe|context)(?:\.only|\.skip)?\s*\(/g)) {
    const title = callArgs(code, m.index + m[0].length - 1, 1)[0];
    if (!title) continue;
    const raw = src.slice(title.at, title.end);
    if (REVIEW_ID.test(raw)) found.add(lineOf(src, m.index));
  }
  return [...found].sort((a, b) => a - b);
}

function sources(...folders: string[]): { file: string; text: string }[] {
  return folders.flatMap((folder) =>
    fs
      .readdirSync(path.join(ROOT, folder))
      .filter((f) => f.endsWith('.ts'))
      .sort()
      .map((f) => ({ file: `${folder}/${f}`, text: fs.readFileSync(path.join(ROOT, folder, f), 'utf8') })),
  );
}

describe('test hygiene: the rules hold over every unit and system test', () => {
  it('no test waits more than 200 ms without a comment saying what it waits for', () => {
    const found = sources('test/unit', 'test/system').flatMap(({ file, text }) => unexplainedWaits(text).map((w) => `${file}:${w.line}: ${w.ms} ms`));
    assert.deepEqual(found, [], 'poll the real condition (test/support/waitFor.ts), give the engine a clock, or say what the wait is for');
  });

  it('no unit test asserts on elapsed wall time (figures belong to npm run bench)', () => {
    const found = sources('test/unit').flatMap(({ file, text }) => wallTimeAssertions(text).map((l) => `${file}:${l}`));
    assert.deepEqual(found, []);
  });

  it('no test title or comment cites a review id instead of the behaviour', () => {
    const found = sources('test/unit', 'test/system', 'test/support').flatMap(({ file, text }) => reviewIds(text).map((l) => `${file}:${l}`));
    assert.deepEqual(found, []);
  });
});

describe('test hygiene: what each rule finds', () => {
  // Each entry: a source, and the lines the wait rule must report in it.
  const WAITS: [string, string, number[]][] = [
    ['a blind sleep past a deadline', 'await new Promise((r) => setTimeout(r, 1300));', [1]],
    ['digits with separators', 'await new Promise((r) => setTimeout(r, 2_500));', [1]],
    ['an exponent', 'setTimeout(done, 1e3);', [1]],
    ['one over the limit', 'setTimeout(r, 201);', [1]],
    ['at the limit', 'setTimeout(r, 200);', []],
    ['zero', 'setTimeout(r, 0);', []],
    ['no delay at all', 'setTimeout(r);', []],
    ['a callback spanning lines, nested calls inside', 'setTimeout(() => {\n  f(g(1), [2, 3]);\n}, 500);', [1]],
    ['a named constant', 'const PAUSE_MS = 1500;\nawait new Promise((r) => setTimeout(r, PAUSE_MS));', [2]],
    ['a value known only at run time', 'setTimeout(r, delayMs ?? 0);', []],
    ["timers/promises' form", "import { setTimeout } from 'node:timers/promises';\nawait setTimeout(1500);", [2]],
    ['a pause helper', 'const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));\nawait pause(1500);\nawait pause(200);', [2]],
    ['sleep, delay and wait helpers', 'await sleep(2500);\nawait delay(300);\nawait wait(250);', [1, 2, 3]],
    [
      'a hang bound explained on the line above',
      "// Waits for the CLI, a real process, to exit.\nawait Promise.race([exited, new Promise((r) => setTimeout(() => r('hung'), 20_000))]);",
      [],
    ],
    ['explained on its own line', 'setTimeout(r, 1000); // waits for the worker processes', []],
    ['explained in a block comment above', '/**\n * Waits for nginx to stop.\n */\nsetTimeout(r, 10_000);', []],
    ['a comment that explains nothing', '// Let it settle.\nsetTimeout(r, 1000);', [2]],
    ['an explanation two statements up does not count', '// waits for the CLI\nconst x = 1;\nsetTimeout(r, 1000);', [3]],
    ['a slow server on purpose', "// The upstream answers slowly on purpose.\nhttp.createServer((q, s) => setTimeout(() => s.end('x'), 300));", []],
    ['a wait inside a string is not a wait', "const js = 'setTimeout(r, 5000)';\nconst sh = `sleep 30`;", []],
    ['a wait in a comment is not a wait', '// was: setTimeout(r, 5000)', []],
    ['a template whose expression waits', 'const t = `${await new Promise((r) => setTimeout(r, 900))}`;', [1]],
    ['a URL in a string is not a comment', "const u = 'http://x/'; setTimeout(r, 700);", [1]],
    ['the one polling wait is not a blind wait', 'await waitFor(() => done(), 20_000, 100);', []],
  ];
  for (const [what, src, lines] of WAITS)
    it(`long waits: ${what}`, () => {
      assert.deepEqual(
        unexplainedWaits(src).map((w) => w.line),
        lines,
      );
    });

  const WALL: [string, string, number[]][] = [
    ['an elapsed bound', 'const t0 = Date.now();\nrun();\nassert.ok(Date.now() - t0 < 5000);', [3]],
    ['performance.now', 'const t = performance.now();\nassert.ok(performance.now() - t < 50);', [2]],
    ['a name taken from the clock', 'const t0 = performance.now();\nconst took = performance.now() - t0;\nassert.ok(took < 1000, `${took} ms`);', [3]],
    ['hrtime', 'const t = process.hrtime.bigint();\nassert.ok(process.hrtime.bigint() - t < 10n);', [2]],
    ['a clock the test steps is not wall time', 'let t = 0;\nconst clock = { now: () => t };\nassert.equal(clock.now(), 0);', []],
    ['a timestamp in a value is not a bound', 'const secret = `tok-${Date.now()}`;\nassert.ok(secret.startsWith("tok-"));', []],
  ];
  for (const [what, src, lines] of WALL) it(`wall-time assertions: ${what}`, () => assert.deepEqual(wallTimeAssertions(src), lines));

  const IDS: [string, string, number[]][] = [
    ['an id in a title', "it('F6: a staging run that judged nothing does not promote', () => {});", [1]],
    ['an audit round in a describe', "describe('the window (attack19 M1, M6)', () => {});", [1]],
    ['an id in a comment', '// A CRLF checkout is the same plan (L1).', [1]],
    ['a CI run named by its number', '/* CI2 saw that race */', [1]],
    ['a title naming the behaviour', "it('a staging run that judged nothing does not promote', () => {});", []],
    ['ids inside test data are data', "const links = '[x](/src/code.ts#L1-L3)';\nassert.match(out, /R1\\. /);", []],
    ['an id in a template title', 'it(`H4: refuses ${what}`, () => {});', [1]],
    ['larger numbers are not ids', "it('waits 300 ms for H100 to answer', () => {});", []],
  ];
  for (const [what, src, lines] of IDS) it(`review ids: ${what}`, () => assert.deepEqual(reviewIds(src), lines));
});
