import type * as EngineApi from './engineApi';

let loaded: typeof EngineApi | undefined;

/** The engine bundle, loaded once on first use (it sits beside extension.js in dist/). */
export function engine(): typeof EngineApi {
  // A plain require of a sibling file: esbuild leaves it as is (it is marked external).
  loaded ??= require('./engine.js') as typeof EngineApi;
  return loaded;
}
