// What the extension host loads on activation, in two layouts of the same production build:
//   three bundles (today's): extension.js at activation; core.js one setImmediate later, on the plan read
//   two bundles, core in the extension: extension.js holding the adapters and what they import (plan, fold,
//     report), at activation; the engine bundle on the first command
//   two bundles, core in the engine: extension.js at activation; one bundle of core and engine on the plan
//     read (timed as core.js and engine.js required together: the same modules)
// Each sample is a fresh Node process that requires the bundles as the host does (`vscode` is the
// host's module: here an object whose every member is a no-op, as only loading is timed, not activate()).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

export interface LayoutLoad {
  /** Median ms to require what is loaded when activate() is called. */
  activationMs: number;
  /** Median ms until the plan can be read (core.js too in the three-bundle layout). */
  readyMs: number;
  /** Bytes loaded at activation, and by the plan read. */
  activationBytes: number;
  readyBytes: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The child's script: times `require` of each file in turn, printing the cumulative ms. */
const probe = `
const Module = require('module');
const load = Module._load;
const noop = new Proxy(function () {}, { get: (t, k) => (k === Symbol.toPrimitive ? () => '' : noop), apply: () => noop, construct: () => noop });
Module._load = function (request, ...rest) { return request === 'vscode' ? noop : load.call(this, request, ...rest); };
const files = JSON.parse(process.argv[1]);
const t0 = performance.now();
const at = files.map((f) => { require(f); return performance.now() - t0; });
process.stdout.write(JSON.stringify(at));
`;

/**
 * Builds the two-bundle extension.js beside today's production bundles (in `dist`) and times both
 * layouts, alternating, `samples` times each.
 */
export function activationLoad(root: string, samples: number): { three: LayoutLoad; two: LayoutLoad; lazy: LayoutLoad } {
  const dist = path.join(root, 'dist');
  const twoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-bench-two-'));
  // The adapters and every module they import in one bundle; the engine stays a lazily required bundle.
  const build = `require('esbuild').buildSync({ entryPoints: ['src/extension.ts'], outfile: ${JSON.stringify(path.join(twoDir, 'extension.js'))},
    bundle: true, minify: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', './engine.js'], legalComments: 'none',
    define: { 'import.meta.url': '__importMetaUrl', __RELEASE_PILOT_VERSION__: '"0.0.0"' },
    banner: { js: "const __importMetaUrl = require('url').pathToFileURL(__filename).href;" } })`;
  execFileSync(process.execPath, ['-e', build], { cwd: root });
  const three = { atActivation: [path.join(dist, 'extension.js')], atReady: [path.join(dist, 'extension.js'), path.join(dist, 'core.js')] };
  const two = { atActivation: [path.join(twoDir, 'extension.js')], atReady: [path.join(twoDir, 'extension.js')] };
  const lazy = { atActivation: [path.join(dist, 'extension.js')], atReady: ['extension.js', 'core.js', 'engine.js'].map((f) => path.join(dist, f)) };
  const layouts = { three, two, lazy };
  const size = (files: string[]) => files.reduce((n, f) => n + fs.statSync(f).size, 0);
  const bytes = Object.fromEntries(Object.entries(layouts).map(([k, l]) => [k, { activationBytes: size(l.atActivation), readyBytes: size(l.atReady) }]));
  const times = { three: [] as number[][], two: [] as number[][], lazy: [] as number[][] };
  try {
    for (let i = 0; i < samples; i++) {
      for (const layout of ['three', 'two', 'lazy'] as const) {
        const files = layouts[layout].atReady;
        times[layout].push(JSON.parse(execFileSync(process.execPath, ['-e', probe, JSON.stringify(files)], { encoding: 'utf8' })) as number[]);
      }
    }
  } finally {
    fs.rmSync(twoDir, { recursive: true, force: true });
  }
  const figures = (k: keyof typeof layouts): LayoutLoad => ({
    activationMs: median(times[k].map((x) => x[layouts[k].atActivation.length - 1])),
    readyMs: median(times[k].map((x) => x[x.length - 1])),
    ...bytes[k],
  });
  return { three: figures('three'), two: figures('two'), lazy: figures('lazy') };
}
