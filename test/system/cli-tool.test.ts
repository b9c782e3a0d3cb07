import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { gitRepo, ROOT, write } from '../support/helpers';
import { journalLines, smallPlan, workspace, type Workspace } from '../support/fixtures';
import { waitFor } from '../support/waitFor';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** The CLI, as a person runs it in the workspace, without a terminal. */
function cli(ws: Workspace, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args, '--plan', ws.planFile], { encoding: 'utf8', cwd: ws.dir, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const runIdOf = (out: string) => /journal: .*runs\/([^/]+)\/journal\.jsonl/.exec(out)?.[1] ?? assert.fail(`no journal path in:\n${out}`);
const runsOf = (ws: Workspace) => (fs.existsSync(path.join(ws.dir, '.release/runs')) ? fs.readdirSync(path.join(ws.dir, '.release/runs')).sort() : []);
const lockOf = (ws: Workspace) => path.join(ws.dir, '.release/lock');

function setVersion(ws: Workspace, version: string): void {
  fs.writeFileSync(ws.planFile, fs.readFileSync(ws.planFile, 'utf8').replace(/^( {2}version: ).*$/m, `$1${version}`));
}

/** A plan that deploys by version and may redeploy; its rollback goes back to `${release.previousVersion}`. */
function redeployPlan(): string {
  return smallPlan({
    rollback: `    - name: back to \${release.previousVersion}
      run: cp '\${backup.path}' state.txt && echo "back to \${release.previousVersion}" > rolled.txt`,
  })
    .replace('version: 1.2.3', 'version: 1.1.0\n  redeploy: true')
    .replace('grep -q 1.2.3 deployed.txt', 'grep -qx "version ${release.version}" deployed.txt');
}

/** 1.1.0 then 1.2.0 released through the CLI, in a repository whose 1.0.0 is tagged (the first one's previous version). */
function twoReleases() {
  const ws = workspace(redeployPlan());
  write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: orders');
  git('tag', 'v1.0.0');
  const a = cli(ws, 'run', '--yes', '--tick', 'sign-off');
  assert.equal(a.code, 0, a.out + a.err);
  setVersion(ws, '1.2.0');
  const b = cli(ws, 'run', '--yes', '--tick', 'sign-off');
  assert.equal(b.code, 0, b.out + b.err);
  return { ws, first: runIdOf(a.out), second: runIdOf(b.out) };
}

/** Every file under the runs folder and the lock, with its bytes: what a preview must leave as it was. */
function snapshot(ws: Workspace): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, f.name);
      if (f.isDirectory()) walk(p);
      else out[path.relative(ws.dir, p)] = fs.readFileSync(p, 'latin1');
    }
  };
  walk(path.join(ws.dir, '.release'));
  for (const f of ['state.txt', 'deployed.txt', 'rolled.txt'])
    if (fs.existsSync(path.join(ws.dir, f))) out[f] = fs.readFileSync(path.join(ws.dir, f), 'latin1');
  return out;
}

describe('previews of a redeploy and a rollback: everything resolved, nothing run, journaled or locked', function () {
  // Two releases run first, each with every phase and a one-second monitoring window.
  this.timeout(120_000);

  it('run --redeploy V --dry-run shows the redeploy of V over what serves; rollback RUN --dry-run its target and every command', () => {
    const { ws, first, second } = twoReleases();
    const before = snapshot(ws);
    const d = cli(ws, 'run', '--redeploy', '1.1.0', '--dry-run');
    assert.equal(d.code, 0, d.out + d.err);
    assert.match(d.out, /^Dry run of tiny 1\.1\.0 → production/m);
    assert.match(d.out, new RegExp(`redeploy of 1\\.1\\.0, released in run ${first}`));
    assert.match(d.out, /echo "version 1\.1\.0" > deployed\.txt/);
    assert.match(d.out, /echo "back to 1\.2\.0" > rolled\.txt/, 'its rollback goes back to what serves now');
    assert.deepEqual(snapshot(ws), before, 'a redeploy preview writes nothing');
    // v-prefixed, as the flag accepts it.
    assert.equal(cli(ws, 'run', '--redeploy', 'v1.1.0', '--dry-run').code, 0);

    const r = cli(ws, 'rollback', second, '--dry-run');
    assert.equal(r.code, 0, r.out + r.err);
    assert.ok(r.out.startsWith(`Rollback preview of tiny 1.2.0 → production (run ${second}; nothing runs`), r.out);
    assert.match(r.out, /back to 1\.1\.0/);
    const dir = path.join(ws.dir, '.release/runs', second);
    assert.ok(r.out.includes(`R1. back to 1.1.0: $ cp '${dir}`), r.out);
    assert.match(r.out, /echo "back to 1\.1\.0" > rolled\.txt/);
    // Without a run: the newest, as rollback itself.
    assert.equal(cli(ws, 'rollback', '--dry-run').out, r.out);
    assert.deepEqual(snapshot(ws), before, 'a rollback preview writes nothing: no journal line, no lock, no step');
  });

  it('hostile previews: a superseded run, a version never released, a plan without redeploy, and commands that have no preview', () => {
    const { ws, first } = twoReleases();
    const before = snapshot(ws);
    const superseded = cli(ws, 'rollback', first, '--dry-run');
    assert.equal(superseded.code, 1, superseded.out + superseded.err);
    assert.match(superseded.err, /superseded by the newer run/);
    const never = cli(ws, 'run', '--redeploy', '9.9.9', '--dry-run');
    assert.equal(never.code, 1, never.out + never.err);
    assert.match(never.err, /no released run of tiny 9\.9\.9 to production/);
    for (const args of [
      ['resume', '--dry-run'],
      ['abandon', '--dry-run', '--reason', 'x'],
      ['rollback', '--redeploy', '1.1.0', '--dry-run'],
    ]) {
      const x = cli(ws, ...args);
      assert.equal(x.code, 2, `${args.join(' ')}: ${x.out}${x.err}`);
    }
    assert.equal(cli(ws, 'rollback', 'no-such-run', '--dry-run').code, 1);
    fs.writeFileSync(ws.planFile, fs.readFileSync(ws.planFile, 'utf8').replace('\n  redeploy: true', ''));
    const off = cli(ws, 'run', '--redeploy', '1.1.0', '--dry-run');
    assert.equal(off.code, 1);
    assert.match(off.err, /does not allow a redeploy/);
    const after = snapshot(ws);
    delete after['.release/plan.yaml'];
    delete before['.release/plan.yaml'];
    assert.deepEqual(after, before);
  });
});

describe('history: refused attempts are counted apart from releases', function () {
  this.timeout(120_000);

  it('three refused attempts and an abandoned run around one release: history shows releases and the count; --all and --json keep all', () => {
    const ws = workspace(smallPlan().replace('run: echo preparing > prepared.txt', 'run: test ! -f fail-prep && echo preparing > prepared.txt'));
    // No terminal and no --yes: refused at the go/no-go question, twice.
    for (let i = 0; i < 2; i++) assert.equal(cli(ws, 'run', '--tick', 'sign-off').code, 1);
    fs.writeFileSync(path.join(ws.dir, 'verdict.txt'), 'QA verdict: NOT Ready for Launch\n');
    assert.equal(cli(ws, 'run', '--yes', '--tick', 'sign-off').code, 1);
    fs.writeFileSync(path.join(ws.dir, 'verdict.txt'), 'QA verdict: Ready for Launch\n');
    const none = cli(ws, 'history');
    assert.equal(none.code, 0, none.err);
    assert.equal(none.out.trim(), 'No releases yet in this workspace.\n3 refused attempts (history --all to list them)');
    // A step ran, failed and paused; abandoned: a run that did something is a release of the list.
    write(ws.dir, 'fail-prep', '');
    assert.equal(cli(ws, 'run', '--yes', '--tick', 'sign-off').code, 1);
    assert.equal(cli(ws, 'abandon', '--reason', 'prep broke').code, 0);
    fs.rmSync(path.join(ws.dir, 'fail-prep'));
    setVersion(ws, '1.2.3');
    const ok = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(ok.code, 0, ok.out + ok.err);

    const h = cli(ws, 'history');
    assert.equal(h.code, 0, h.err);
    const lines = h.out.trim().split('\n');
    assert.match(lines[0], /^RUN\s+VERSION/);
    assert.match(lines[1], /released/);
    assert.match(lines[2], /abandoned/);
    assert.equal(lines[3], '3 refused attempts (history --all to list them)');
    assert.equal(lines.length, 4, h.out);

    const all = cli(ws, 'history', '--all');
    const allLines = all.out.trim().split('\n');
    assert.equal(allLines.length, 6, all.out);
    assert.equal(allLines.filter((l) => /aborted \(refused\)/.test(l)).length, 3, all.out);

    const json = JSON.parse(cli(ws, 'history', '--json').out) as { status: string; refused?: boolean }[];
    assert.deepEqual(
      json.map((r) => [r.status, r.refused === true]),
      [
        ['released', false],
        ['abandoned', false],
        ['aborted', true],
        ['aborted', true],
        ['aborted', true],
      ],
    );
    // The newest N releases: refused attempts do not take their places.
    const one = cli(ws, 'history', '--limit', '1').out.trim().split('\n');
    assert.equal(one.length, 3, one.join('\n'));
    assert.match(one[1], /released/);
    assert.equal(one[2], '3 refused attempts (history --all to list them)');
    const singular = workspace();
    cli(singular, 'run', '--tick', 'sign-off');
    assert.equal(cli(singular, 'history').out.trim(), 'No releases yet in this workspace.\n1 refused attempt (history --all to list them)');
  });
});

describe('a rollback while another process runs the release', function () {
  this.timeout(120_000);

  it('names that process (pid, host, since, run) and how to stop it; doing so, the rollback goes through', async () => {
    const ws = workspace(
      smallPlan({
        deploy: `    steps:\n      - name: deploy\n        run: echo "version \${release.version}" > deployed.txt; while [ ! -f go.txt ]; do sleep 0.1; done`,
      }),
    );
    const child = spawn(process.execPath, [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { cwd: ws.dir, stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      // The CLI is a real process: its deploy step starts within seconds.
      assert.ok(await waitFor(() => fs.existsSync(path.join(ws.dir, 'deployed.txt')), 30_000), out);
      const runId = runsOf(ws)[0];
      const lock = JSON.parse(fs.readFileSync(lockOf(ws), 'utf8')) as { since: string };
      const r = cli(ws, 'rollback', runId, '--yes');
      assert.equal(r.code, 1, r.out + r.err);
      assert.ok(r.err.includes(`pid ${child.pid}`), r.err);
      assert.ok(r.err.includes(os.hostname()), r.err);
      assert.ok(r.err.includes(`run ${runId}`), r.err);
      assert.ok(r.err.includes(lock.since), r.err);
      assert.ok(r.err.includes(`kill -INT ${child.pid}`), r.err);
      assert.ok(r.err.includes(`release-pilot rollback ${runId}`), r.err);
      // A preview takes no lock: it works meanwhile.
      const preview = cli(ws, 'rollback', runId, '--dry-run');
      assert.equal(preview.code, 0, preview.out + preview.err);
      // Doing what it says: the release pauses, then rolls back.
      process.kill(child.pid!, 'SIGINT');
      assert.equal(await exited, 130, out);
      const back = cli(ws, 'rollback', runId, '--yes');
      assert.equal(back.code, 3, back.out + back.err);
      assert.ok(journalLines(ws, runId).some((e) => e.type === 'rollback.finished' && e.outcome === 'rolled-back'));
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});

describe('the CLI as a tool', function () {
  this.timeout(60_000);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

  it('dist/cli.js is executable with a shebang; --version and -V print the version of package.json', () => {
    const file = path.join(ROOT, pkg.bin['release-pilot']);
    assert.equal(fs.readFileSync(file, 'utf8').split('\n')[0], '#!/usr/bin/env node');
    assert.ok(fs.statSync(file).mode & 0o100, 'executable');
    for (const flag of ['--version', '-V']) {
      const r = spawnSync(file, [flag], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${pkg.version}\n`);
    }
    // From anywhere, before any plan is read.
    const r = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8', cwd: os.tmpdir() });
    assert.equal(r.stdout, `${pkg.version}\n`);
  });

  /** What bash completes for the words typed so far (the last one being completed), with the script the CLI prints. */
  function complete(ws: Workspace, words: string[]): string[] {
    const script = spawnSync(process.execPath, [CLI, 'completion', 'bash'], { encoding: 'utf8' });
    assert.equal(script.status, 0, script.stderr);
    const file = write(ws.dir, 'completion.bash', script.stdout);
    const shell = [
      `release-pilot() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"; }`,
      `source ${JSON.stringify(file)}`,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE="${words.join(' ')}"; COMP_POINT=\${#COMP_LINE}`,
      '_release_pilot',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const r = spawnSync('bash', ['-c', shell], { encoding: 'utf8', cwd: ws.dir });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  it('completion bash: commands, flags, run ids for the commands that take one, environments for --env', () => {
    const ws = workspace(smallPlan({ extra: 'environments:\n  staging: {}\n  production: {}\n' }));
    write(ws.dir, '.release/runs/20260101-100000-1.2.3/journal.jsonl', '');
    write(ws.dir, '.release/runs/20260102-100000-1.2.4/journal.jsonl', '');
    assert.deepEqual(complete(ws, ['release-pilot', 'ro']), ['rollback']);
    assert.deepEqual(complete(ws, ['release-pilot', 'h']), ['history']);
    assert.ok(complete(ws, ['release-pilot', '']).includes('completion'));
    assert.deepEqual(complete(ws, ['release-pilot', 'rollback', '']), ['20260101-100000-1.2.3', '20260102-100000-1.2.4']);
    assert.deepEqual(complete(ws, ['release-pilot', 'status', '2026010']), ['20260101-100000-1.2.3', '20260102-100000-1.2.4']);
    assert.deepEqual(complete(ws, ['release-pilot', 'run', '--env', '']), ['production', 'staging']);
    assert.deepEqual(complete(ws, ['release-pilot', 'run', '--env', 'st']), ['staging']);
    assert.ok(complete(ws, ['release-pilot', 'run', '--dr']).includes('--dry-run'));
    assert.deepEqual(complete(ws, ['release-pilot', 'completion', '']), ['bash', 'zsh']);
    // No run ids for a command that takes none; nothing from a workspace without runs or plan.
    assert.ok(!complete(ws, ['release-pilot', 'validate', '']).some((w) => w.startsWith('2026')));
    fs.rmSync(path.join(ws.dir, '.release'), { recursive: true });
    assert.deepEqual(complete(ws, ['release-pilot', 'rollback', '']), []);
    assert.deepEqual(complete(ws, ['release-pilot', 'run', '--env', '']), []);
  });

  it('completion zsh prints a script for zsh; an unknown shell is a usage error', () => {
    const z = spawnSync(process.execPath, [CLI, 'completion', 'zsh'], { encoding: 'utf8' });
    assert.equal(z.status, 0, z.stderr);
    assert.match(z.stdout, /^#compdef release-pilot/);
    assert.match(z.stdout, /bashcompinit/);
    assert.match(z.stdout, /complete -F _release_pilot release-pilot/);
    for (const bad of [[], ['fish'], ['bash', 'zsh']]) {
      const r = spawnSync(process.execPath, [CLI, 'completion', ...bad], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, /completion bash\|zsh/);
    }
  });

  it('npm pack, then npm install -g into a clean prefix: release-pilot --version and validate run from PATH', function () {
    // npm packs and installs for real (its dependencies from the local npm cache, metadata from the registry).
    this.timeout(180_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-pack-'));
    try {
      const npm = (args: string[], cwd: string) => spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 150_000 });
      const packed = npm(['pack', '--json', '--pack-destination', tmp], ROOT);
      assert.equal(packed.status, 0, packed.stderr);
      const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
      const files = info.files.map((f) => f.path).sort();
      for (const needed of ['package.json', 'dist/cli.js', 'dist/templates/local.yaml', 'docs/cli.md'])
        assert.ok(files.includes(needed), `${needed} in ${files.join(' ')}`);
      assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.map') || f === 'dist/extension.js'), files.join(' '));
      const prefix = path.join(tmp, 'prefix');
      const base = ['install', '-g', '--prefix', prefix, path.join(tmp, info.filename), '--no-audit', '--no-fund'];
      // The CLI is one bundle with no dependencies to fetch: it installs with no network at all.
      const installed = npm([...base, '--offline'], tmp);
      assert.equal(installed.status, 0, installed.stderr);
      assert.ok(!fs.existsSync(path.join(prefix, 'lib', 'node_modules', 'release-pilot', 'node_modules')), 'nothing installed beside the bundle');
      const env = { HOME: tmp, PATH: [path.join(prefix, 'bin'), path.dirname(process.execPath)].join(path.delimiter) };
      const version = spawnSync('release-pilot', ['--version'], { encoding: 'utf8', env });
      assert.equal(version.status, 0, version.stderr);
      assert.equal(version.stdout, `${pkg.version}\n`);
      const ws = workspace();
      const valid = spawnSync('release-pilot', ['validate'], { encoding: 'utf8', env, cwd: ws.dir });
      assert.equal(valid.status, 0, valid.stdout + valid.stderr);
      assert.match(valid.stdout, /plan\.yaml: valid \(tiny 1\.2\.3 → production/);
      const init = spawnSync('release-pilot', ['init', '--template', 'local'], { encoding: 'utf8', env, cwd: fs.mkdtempSync(path.join(tmp, 'init-')) });
      assert.equal(init.status, 0, init.stdout + init.stderr);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
