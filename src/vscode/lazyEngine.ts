import * as path from 'node:path';
import type * as EngineApi from './engineApi';

let loaded: typeof EngineApi | undefined;

/** The engine bundle, loaded once on first use (it sits beside extension.js in dist/). */
export function engine(): typeof EngineApi {
  // A plain require of a sibling file: esbuild leaves it as is (it is marked external).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time, not bundled
  loaded ??= require('./engine.js') as typeof EngineApi;
  return loaded;
}

/** The engine if a command loaded it already; errors it threw can only come from it then. */
export function engineIfLoaded(): typeof EngineApi | undefined {
  return loaded;
}

/** The bundles of dist/ this extension host has loaded so far (extension.js, core.js, engine.js). */
export function bundlesLoaded(): string[] {
  return Object.keys(require.cache)
    .filter((f) => path.dirname(f) === __dirname)
    .map((f) => path.basename(f));
}
