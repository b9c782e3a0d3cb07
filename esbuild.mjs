// Builds the bundles and the plan's JSON Schema:
//   dist/extension.js, dist/core.js, dist/engine.js  the extension, in the extension host (see hostBundles)
//   dist/cli.js                                      the command line, its own process
//   dist/webview.js                                  the panel, in the browser
// `node esbuild.mjs --watch` rebuilds on change; `--production` minifies; `--report` prints each bundle's size.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const tests = process.argv.includes('--tests');
const bench = process.argv.includes('--bench');
const report = process.argv.includes('--report');
// `npm run docs:plan`: docs/plan-reference.md from the schema (a unit test fails when they differ).
const planReference = process.argv.includes('--plan-reference');

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
// `release-pilot --version` prints package.json's version, written into the bundle here.
const { version } = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const nodeCjs = {
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  define: { 'import.meta.url': '__importMetaUrl', __RELEASE_PILOT_VERSION__: JSON.stringify(version) },
  banner: { js: "const __importMetaUrl = require('url').pathToFileURL(__filename).href;" },
};
const builds = [
  {
    ...common,
    ...nodeCjs,
    entryPoints: ['src/cli/cliMain.ts'],
    outfile: 'dist/cli.js',
    banner: { js: `#!/usr/bin/env node\n${nodeCjs.banner.js}` },
    // package.json's bin: npm links it, a person runs it as ./dist/cli.js; both need it executable.
    plugins: [...common.plugins, { name: 'executable', setup: (b) => b.onEnd((r) => r.errors.length || fs.chmodSync('dist/cli.js', 0o755)) }],
  },
  {
    ...common,
    entryPoints: ['src/webview/webviewMain.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'css' },
  },
];

// The extension host loads three bundles, and each module lives in exactly one of them, so a class
// (an error the engine throws, say) is the same class wherever it is caught:
//   extension.js  src/extension.ts and src/vscode: the adapters
//   core.js       what they import beyond that: plan, fold, journal, report, the panel's messages; required
//                 when the adapters first use one of them (the plan read just after activation), not at activation
//   engine.js     what runs releases, required on the first command that runs something
//                 (src/vscode/lazyEngine.ts), minus what core.js already holds
// An import that crosses from one bundle into core.js becomes a lookup in core.js's table of modules
// (from extension.js, through getters; in watch mode, a new export the adapters use needs a restart).
const SHARED = 'rp-core-module';
const isAdapter = (key) => key === 'src/extension.ts' || key.startsWith('src/vscode/');
/** A module's name in the table: its path from the project, or from node_modules for a package. */
const keyOf = (file) => {
  const rel = path.relative(process.cwd(), file).split(path.sep).join('/');
  const i = rel.lastIndexOf('node_modules/');
  return i >= 0 ? rel.slice(i) : rel;
};

/**
 * Sends the imports `crosses(key, importerKey)` picks to core.js; records them in `wanted` (key → file).
 * With `lazy` (key → export names), an import becomes getters that require core.js on first use, so
 * loading extension.js does not load core.js: activation registers, and the plan is read just after.
 */
function fromCore(crosses, wanted, exposed, lazy) {
  return {
    name: 'from-core',
    setup(build) {
      build.onResolve({ filter: /^\.\/core\.js$/, namespace: SHARED }, () => ({ path: './core.js', external: true }));
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === SHARED || args.kind === 'entry-point' || args.namespace !== 'file') return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: SHARED });
        if (r.errors.length || r.external || r.namespace !== 'file') return undefined;
        const key = keyOf(r.path);
        const importer = keyOf(args.importer);
        if (!crosses(key, importer)) return undefined;
        if (exposed && !exposed.has(key))
          return { errors: [{ text: `${importer} imports ${key} from core.js, which does not hold it yet: restart the build` }] };
        wanted.set(key, r.path);
        return { path: key, namespace: SHARED };
      });
      build.onLoad({ filter: /.*/, namespace: SHARED }, (args) => ({
        contents: lazy ? lazyShim(args.path, lazy.get(args.path)) : `module.exports = require('./core.js').modules[${JSON.stringify(args.path)}];`,
        loader: 'js',
      }));
    },
  };
}

/** A module of core.js seen through getters: core.js is required when one of them is first read. */
function lazyShim(key, shape) {
  if (!shape) throw new Error(`${key}: its exports are not known; the build reads them from dist/core.js`);
  return [
    'let m;',
    `const load = () => (m ??= require('./core.js').modules[${JSON.stringify(key)}]);`,
    shape.esModule ? 'Object.defineProperty(exports, "__esModule", { value: true });' : '',
    `for (const k of ${JSON.stringify(shape.names)}) Object.defineProperty(exports, k, { enumerable: true, get: () => load()[k] });`,
  ].join('\n');
}

/** Each module's export names in a built core.js (read in a child process, so the build does not load it). */
function exportsOf(coreFile) {
  const code = `const { modules } = require(${JSON.stringify(path.resolve(coreFile))});
process.stdout.write(JSON.stringify(Object.entries(modules).map(([k, m]) => [k, { esModule: Boolean(m.__esModule), names: Object.keys(m) }])));`;
  return new Map(JSON.parse(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' })));
}

/** core.js's entry: every module another bundle imports, ES modules as namespaces marked as such, CommonJS ones as they are. */
function coreEntry(modules, formats) {
  const lines = ['const esm = (ns) => Object.defineProperty(Object.create(null, Object.getOwnPropertyDescriptors(ns)), "__esModule", { value: true });'];
  const table = [];
  [...modules].forEach(([key, file], i) => {
    if (formats.get(key) === 'cjs') table.push(`${JSON.stringify(key)}: require(${JSON.stringify(file)})`);
    else {
      lines.push(`import * as m${i} from ${JSON.stringify(file)};`);
      table.push(`${JSON.stringify(key)}: esm(m${i})`);
    }
  });
  return `${lines.join('\n')}\nexport const modules = {\n${table.join(',\n')}\n};\n`;
}

const inputsOf = (result) =>
  new Map(
    Object.entries(result.metafile.inputs)
      .filter(([k]) => !k.startsWith(`${SHARED}:`) && k !== '<stdin>')
      .map(([k, v]) => [keyOf(path.resolve(k)), v.format]),
  );

/** Fails the build if a module is in two bundles of the extension host. */
function checkDisjoint(results) {
  const owner = new Map();
  for (const [name, result] of Object.entries(results)) {
    for (const key of inputsOf(result).keys()) {
      if (owner.has(key)) throw new Error(`${key} is bundled into both dist/${owner.get(key)} and dist/${name}: each module must live in one bundle`);
      owner.set(key, name);
    }
  }
  return owner.size;
}

/** The three extension-host bundles' options; core.js holds `modules` (key → file). */
function hostOptions(modules, formats, exposed, wanted, lazy) {
  const host = { ...common, ...nodeCjs, metafile: true };
  return {
    'extension.js': {
      ...host,
      entryPoints: ['src/extension.ts'],
      outfile: 'dist/extension.js',
      external: ['vscode', './engine.js'],
      plugins: [...host.plugins, fromCore((key, importer) => isAdapter(importer) && !isAdapter(key), wanted, exposed, lazy)],
    },
    'core.js': {
      ...host,
      stdin: { contents: coreEntry(modules, formats), resolveDir: process.cwd(), sourcefile: 'core-modules.js', loader: 'js' },
      outfile: 'dist/core.js',
    },
    'engine.js': {
      ...host,
      entryPoints: ['src/vscode/engineApi.ts'],
      outfile: 'dist/engine.js',
      plugins: [...host.plugins, fromCore((key) => formats.has(key), wanted, exposed)],
    },
  };
}

/** Builds the three, checks no module is in two, and returns their options for watch mode. */
async function hostBundles() {
  const wanted = new Map();
  // First what the adapters import from beyond themselves, then all that this pulls into core.js:
  // the engine imports what it shares with them from there.
  const probe = hostOptions(new Map(), new Map(), null, wanted);
  await esbuild.build({ ...probe['extension.js'], write: false });
  const held = inputsOf(await esbuild.build({ ...hostOptions(wanted, new Map(), null, wanted)['core.js'], write: false }));
  const engine = await esbuild.build(hostOptions(wanted, held, null, wanted)['engine.js']);
  const core = await esbuild.build(hostOptions(wanted, held, new Set(wanted.keys()), new Map())['core.js']);
  // Then extension.js again, its imports from core.js as getters over the export names core.js has.
  const options = hostOptions(wanted, held, new Set(wanted.keys()), new Map(), exportsOf('dist/core.js'));
  const ext = await esbuild.build(options['extension.js']);
  const results = { 'extension.js': ext, 'core.js': core, 'engine.js': engine };
  const modules = checkDisjoint(results);
  if (report) {
    for (const r of Object.values(results)) {
      const [file, out] = Object.entries(r.metafile.outputs).find(([f]) => f.endsWith('.js'));
      console.log(`${file}: ${(out.bytes / 1024).toFixed(0)} KB, ${inputsOf(r).size} modules`);
      const top = Object.entries(out.inputs)
        .map(([f, i]) => [f.replace(/^node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*$/, '$1'), i.bytesInOutput])
        .reduce((m, [k, b]) => m.set(k, (m.get(k) ?? 0) + b), new Map());
      for (const [k, b] of [...top].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`  ${(b / 1024).toFixed(0).padStart(4)} KB  ${k}`);
    }
    console.log(`${modules} modules in the extension host, each in one bundle; core.js lends ${wanted.size} of them to the other two`);
  }
  return options;
}

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
// "Deploy: Create Release Plan" and `release-pilot init` scaffold from the example plans and templates/
// (the names are src/core/plan/templates.ts's; a unit test checks that every one is here and loads).
for (const [name, source] of [
  ['local', 'examples/demo/.release/plan.yaml'],
  ['kubernetes', 'examples/kubernetes/.release/plan.yaml'],
  ['helm', 'examples/helm/.release/plan.yaml'],
  ['fleet', 'examples/fleet/.release/plan.yaml'],
  ['nginx-postgres', 'templates/nginx-postgres.yaml'],
  ['apache-mariadb', 'templates/apache-mariadb.yaml'],
  ['systemd', 'templates/systemd.yaml'],
]) {
  fs.copyFileSync(source, `dist/templates/${name}.yaml`);
}
if (watch) {
  const host = Object.values(await hostBundles());
  const contexts = await Promise.all([...builds, ...host].map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all([hostBundles(), ...builds.map((b) => esbuild.build(b))]);
  await esbuild.build({
    entryPoints: ['src/core/plan/json-schema.ts'],
    outfile: 'dist/schema-export.mjs',
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
  });
  await writeSchema();
  if (planReference) {
    await esbuild.build({ entryPoints: ['src/core/plan/reference.ts'], outfile: 'dist/reference-export.mjs', bundle: true, platform: 'node', format: 'esm' });
    const { planReference: render } = await import('./dist/reference-export.mjs');
    fs.writeFileSync('docs/plan-reference.md', render(JSON.parse(fs.readFileSync('dist/plan.schema.json', 'utf8'))));
    fs.rmSync('dist/reference-export.mjs');
  }
}
