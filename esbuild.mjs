// Builds the three bundles (extension, CLI, webview) and the plan's JSON Schema.
// `node esbuild.mjs --watch` rebuilds on change; `--production` minifies.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const tests = process.argv.includes('--tests');
const bench = process.argv.includes('--bench');

/** Prints errors in the form VS Code's $esbuild-watch problem matcher reads. */
const problemMatcher = {
  name: 'problem-matcher',
  setup(build) {
    build.onStart(() => console.log('[watch] build started'));
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      console.log('[watch] build finished');
    });
  },
};

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', plugins: watch ? [problemMatcher] : [], legalComments: 'none' };
// execa and friends are ESM and read import.meta.url; in a CommonJS bundle it comes from __filename.
const nodeCjs = {
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('url').pathToFileURL(__filename).href;" },
};
const builds = [
  // The engine is its own bundle, required by the extension on first use (see src/vscode/lazyEngine.ts).
  { ...common, ...nodeCjs, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', './engine.js'] },
  { ...common, ...nodeCjs, entryPoints: ['src/vscode/engineApi.ts'], outfile: 'dist/engine.js' },
  { ...common, ...nodeCjs, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: `#!/usr/bin/env node\n${nodeCjs.banner.js}` } },
  {
    ...common,
    entryPoints: ['src/webview/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'css' },
  },
];
if (tests) {
  // Tests are bundled like the product, so ESM-only dependencies load the same way in both.
  const list = (dir) =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.endsWith('.ts'))
          .map((f) => path.join(dir, f))
      : [];
  const testBuild = { ...common, ...nodeCjs, sourcemap: 'inline', minify: false };
  // A test moved or removed must not keep running from an old bundle.
  for (const layer of ['unit', 'system', 'e2e', 'integration']) fs.rmSync(path.join('out', layer), { recursive: true, force: true });
  for (const layer of ['unit', 'system']) {
    builds.push({ ...testBuild, entryPoints: list(`test/${layer}`).filter((f) => f.endsWith('.test.ts')), outdir: `out/${layer}`, external: ['mocha'] });
  }
  builds.push({ ...testBuild, entryPoints: list('test/e2e').filter((f) => f.endsWith('.test.ts')), outdir: 'out/e2e', external: ['mocha', 'playwright-core'] });
  const integration = list('test/integration');
  if (integration.length) builds.push({ ...testBuild, entryPoints: integration, outdir: 'out/integration', external: ['vscode', 'mocha'] });
}

async function writeSchema() {
  const { planJsonSchema } = await import('./dist/schema-export.mjs');
  fs.writeFileSync('dist/plan.schema.json', JSON.stringify(planJsonSchema(), null, 2) + '\n');
  fs.rmSync('dist/schema-export.mjs');
}

if (bench)
  builds.push({
    ...common,
    ...nodeCjs,
    sourcemap: 'inline',
    minify: false,
    entryPoints: ['bench/bench.ts'],
    outdir: 'out/bench',
    external: ['playwright-core'],
  });
fs.mkdirSync('dist/templates', { recursive: true });
// "Deploy: Create Release Plan" scaffolds from the example plans.
for (const [name, example] of [
  ['local', 'demo'],
  ['kubernetes', 'kubernetes'],
  ['helm', 'helm'],
]) {
  fs.copyFileSync(`examples/${example}/.release/plan.yaml`, `dist/templates/${name}.yaml`);
}
if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  await esbuild.build({
    entryPoints: ['src/core/plan/schema.ts'],
    outfile: 'dist/schema-export.mjs',
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
  });
  await writeSchema();
}
