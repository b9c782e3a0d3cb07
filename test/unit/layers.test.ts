import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The layers of src/core and the CLI, lowest first. A module may import from the layers below it
 * and from its own folder, never from a layer above nor from another folder of its own layer
 * (monitor and report know nothing of each other): the lower a module, the fewer it knows.
 * Layer 0 counts as one folder.
 *
 *   0 base, model
 *               base: clock, errors, fetch, number and time formats, plain text; model: the plan's
 *               schema (zod only), the journal's events, their text, and the fold into ReleaseState
 *   1 exec      processes: the step runner, short commands, secret masking
 *   2 git, plan, journal
 *               git queries; plan loading, validation and the `${…}` scope; the journal and lock
 *   3 monitor, report, store
 *               metric sources and guards; report, changelog and announcements; the shared release store
 *   4 engine    the release, in three rooms that count as one folder, every module in one of them:
 *               run      the state machine: the Release, its context, phases, one handler per unit kind, rollback
 *               gates    every refusal before and during a run: preflight, the run's gates, environment gates
 *               queries  what is read without running: runs, history, comparison, preview, live state, facts
 *   5 cli       the command line over the engine
 */
const LAYERS: [layer: number, pattern: RegExp][] = [
  [0, /^src\/core\/(base\/|model\/|format\.ts$)/],
  [1, /^src\/core\/exec\//],
  [2, /^src\/core\/(git|plan|journal)\//],
  [3, /^src\/core\/(monitor|report|store)\//],
  [4, /^src\/core\/engine\/(run|gates|queries)\//],
  [5, /^src\/cli\//],
];

function layerOf(file: string): number | undefined {
  return LAYERS.find(([, re]) => re.test(file))?.[0];
}

/** The folder a module belongs to for the sideways rule: `base` for layer 0, `engine` for its rooms, else its folder. */
function folderOf(file: string): string {
  const layer = layerOf(file);
  return layer === 0 ? 'base' : layer === 4 ? 'engine' : path.posix.dirname(file);
}

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

/** Relative module specifiers of a file: static imports, re-exports, `import()` and `require()`. */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) specs.push(m[1]);
  return specs;
}

function resolveSpec(root: string, fromFile: string, spec: string): string {
  const abs = path.resolve(path.dirname(path.join(root, fromFile)), spec);
  for (const candidate of [abs, `${abs}.ts`, path.join(abs, 'index.ts')])
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return path.relative(root, candidate).split(path.sep).join('/');
  return path.relative(root, abs).split(path.sep).join('/');
}

/** Every import that goes up a layer, or out of the layered folders (into src/vscode, src/webview…). */
export function layerViolations(root: string, files: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const own = layerOf(file);
    if (own === undefined) continue;
    for (const spec of importsOf(text)) {
      const target = resolveSpec(root, file, spec);
      const theirs = layerOf(target);
      if (theirs === undefined) out.push(`${file} imports ${target}, which is in no layer`);
      else if (theirs > own) out.push(`${file} (layer ${own}) imports ${target} (layer ${theirs})`);
      else if (theirs === own && folderOf(file) !== folderOf(target)) out.push(`${file} imports ${target}, another folder of its layer (${own})`);
    }
  }
  return out;
}

function sources(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const dir of ['src/core', 'src/cli'])
    for (const d of fs.readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true }))
      if (d.isFile() && d.name.endsWith('.ts')) {
        const abs = path.join(d.parentPath, d.name);
        files[path.relative(root, abs).split(path.sep).join('/')] = fs.readFileSync(abs, 'utf8');
      }
  return files;
}

/** Every .ts file under `src`, by its path from the root. */
function allSources(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const d of fs.readdirSync(path.join(root, 'src'), { recursive: true, withFileTypes: true }))
    if (d.isFile() && d.name.endsWith('.ts')) {
      const abs = path.join(d.parentPath, d.name);
      files[path.relative(root, abs).split(path.sep).join('/')] = fs.readFileSync(abs, 'utf8');
    }
  return files;
}

/** The files of `files` that `file` imports (any form, types too), resolved among those files only. */
function importedFiles(files: Record<string, string>, file: string): string[] {
  return importsOf(files[file]).flatMap((spec) => {
    const abs = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const hit = [abs, `${abs}.ts`, `${abs}/index.ts`].find((c) => c in files);
    return hit ? [hit] : [];
  });
}

/** Each group of files that import one another in a ring (a strongly connected component of two or more, or a file importing itself). */
export function importCycles(files: Record<string, string>): string[][] {
  const edges = new Map(Object.keys(files).map((f) => [f, importedFiles(files, f)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  // Iterative Tarjan: a deep chain of imports must not overflow the stack.
  for (const start of edges.keys()) {
    if (index.has(start)) continue;
    const work: [string, number][] = [[start, 0]];
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      if (i === 0) {
        index.set(v, next);
        low.set(v, next++);
        stack.push(v);
        onStack.add(v);
      }
      const out = edges.get(v)!;
      if (i < out.length) {
        frame[1]++;
        const w = out[i];
        if (!index.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
      }
      if (low.get(v) === index.get(v)) {
        const ring: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          ring.push(w);
        } while (w !== v);
        if (ring.length > 1 || out.includes(v)) cycles.push(ring.sort());
      }
    }
  }
  return cycles;
}

/** Basenames that more than one file has, each with its files. */
export function sharedBasenames(files: readonly string[]): string[] {
  const by = new Map<string, string[]>();
  for (const f of files) by.set(path.posix.basename(f), [...(by.get(path.posix.basename(f)) ?? []), f]);
  return [...by.values()].filter((fs) => fs.length > 1).map((fs) => fs.join(' and '));
}

/** Files over `max` lines, each with its count. */
export function overLong(files: Record<string, string>, max: number): string[] {
  return Object.entries(files)
    .map(([f, text]) => [f, text.split('\n').length - (text.endsWith('\n') ? 1 : 0)] as const)
    .filter(([, n]) => n > max)
    .map(([f, n]) => `${f}: ${n} lines`);
}

export const MAX_SOURCE_LINES = 400;

describe('layers of the core', () => {
  const root = repoRoot();

  it('places every module of src/core and src/cli in a layer', () => {
    const unplaced = Object.keys(sources(root)).filter((f) => layerOf(f) === undefined);
    assert.deepEqual(unplaced, []);
  });

  it('imports only from the same layer or below', () => {
    assert.deepEqual(layerViolations(root, sources(root)), []);
  });

  it('finds an upward import in every form a module can write one', () => {
    const upward = {
      'src/core/journal/journal.ts': "import type { Release } from '../engine/run/engine';",
      'src/core/monitor/monitor.ts': "export { x } from '../engine/run/context';",
      'src/core/model/events.ts': "import { Monitor } from\n  '../monitor/monitor';",
      'src/core/exec/runner.ts': "const m = require('../plan/load');",
      'src/core/report/announce.ts': "const m = await import('../monitor/monitor');",
      'src/core/plan/scope.ts': "import '../journal/journal';\nimport { z } from '../../cli/main';",
      'src/core/git/git.ts': "import { panel } from '../../vscode/panel';",
    };
    const found = layerViolations(root, upward);
    assert.equal(found.length, 8, found.join('\n'));
    assert.ok(found.some((v) => v.startsWith('src/core/git/git.ts imports src/vscode/panel')));
    // Downward, within a folder, and within layer 0 are allowed.
    const allowed = {
      'src/core/engine/run/engine.ts': "import { x } from '../../monitor/monitor';\nimport { y } from '../gates/runGates';",
      'src/core/model/events.ts': "import type { PhaseId } from './schema';",
      'src/core/model/releaseState.ts': "import { realClock } from '../base/clock';",
    };
    assert.deepEqual(layerViolations(root, allowed), []);
  });
});

describe('the source tree reads like its rooms', () => {
  const root = repoRoot();
  const files = allSources(root);

  it('gives every file under src a basename no other file has', () => {
    assert.deepEqual(sharedBasenames(Object.keys(files)), []);
  });

  it('has no import cycle among the files under src', () => {
    assert.deepEqual(importCycles(files), []);
  });

  it(`keeps every file under src within ${MAX_SOURCE_LINES} lines`, () => {
    assert.deepEqual(overLong(files, MAX_SOURCE_LINES), []);
  });

  it('finds every ring of imports, however it is written', () => {
    const rings = {
      // Two files, one importing the other only for a type.
      'src/a/report.ts': "import { sections } from './report-sections';",
      'src/a/report-sections.ts': "import type { Report } from './report';",
      // Three files through a folder's index, a re-export and a dynamic import.
      'src/b/one.ts': "export { two } from '../c';",
      'src/c/index.ts': "const m = await import('../b/three');",
      'src/b/three.ts': "import {\n  one,\n} from './one.ts';",
      // A file importing itself, through `..`.
      'src/d/self.ts': "const me = require('../d/self');",
      // No ring: a diamond, an import of a missing file, and a package.
      'src/e/top.ts': "import './left';\nimport './right';\nimport 'node:fs';",
      'src/e/left.ts': "import { x } from './bottom';",
      'src/e/right.ts': "import { x } from './bottom';\nimport { gone } from './missing';",
      'src/e/bottom.ts': 'export const x = 1;',
    };
    assert.deepEqual(
      importCycles(rings).sort((p, q) => p[0].localeCompare(q[0])),
      [['src/a/report-sections.ts', 'src/a/report.ts'], ['src/b/one.ts', 'src/b/three.ts', 'src/c/index.ts'], ['src/d/self.ts']],
    );
    // A ring at the end of a chain of 5000 files is found without overflowing the stack.
    const chain: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) chain[`src/f/m${i}.ts`] = `import './m${i + 1}';`;
    chain['src/f/m5000.ts'] = "import './m4999';";
    assert.deepEqual(importCycles(chain), [['src/f/m4999.ts', 'src/f/m5000.ts']]);
  });

  it('finds a shared basename across folders, and counts lines as a person does', () => {
    assert.deepEqual(sharedBasenames(['src/cli/main.ts', 'src/webview/main.ts', 'src/a/mainly.ts', 'src/b/Main.ts']), [
      'src/cli/main.ts and src/webview/main.ts',
    ]);
    assert.deepEqual(sharedBasenames([]), []);
    const lines = (n: number, end = '\n') => 'x\n'.repeat(n - 1) + 'x' + end;
    assert.deepEqual(overLong({ 'src/at.ts': lines(400), 'src/over.ts': lines(401), 'src/open.ts': lines(401, ''), 'src/empty.ts': '' }, 400), [
      'src/over.ts: 401 lines',
      'src/open.ts: 401 lines',
    ]);
  });
});
