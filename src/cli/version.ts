// The build writes package.json's version here (esbuild's `define`); a source run without the build has none.
declare const __RELEASE_PILOT_VERSION__: string | undefined;

/** The version of release-pilot, as package.json says. */
export const VERSION: string = typeof __RELEASE_PILOT_VERSION__ === 'string' ? __RELEASE_PILOT_VERSION__ : 'unknown';
