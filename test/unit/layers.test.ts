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
 *   3 monitor, report
 *               metric sources and guards; report, changelog and announcements
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
  [3, /^src\/core\/(monitor|report)\//],
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
