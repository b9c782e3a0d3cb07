import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { gitRepo, ROOT, tempDir } from '../support/helpers';
import { smallPlan, workspace } from '../support/fixtures';
import { cliInProcess } from '../support/inProcessCli';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** The workspace as a repository, what a person releases from, with the files smallPlan's steps read; the plan as written, valid or not. */
function repo(plan: string): { dir: string; planFile: string } {
  const ws = workspace(smallPlan());
  fs.writeFileSync(ws.planFile, plan);
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'plan');
  return ws;
}

const cli = (ws: { dir: string; planFile: string }, ...args: string[]) =>
  spawnSync('node', [CLI, ...args, '--plan', ws.planFile], { encoding: 'utf8', cwd: ws.dir, timeout: 60_000, env: { ...process.env, HOOK_URL: '' } });

/** The same, through the CLI's main in this process. */
const inProcess = (ws: { dir: string; planFile: string }, ...args: string[]) =>
  cliInProcess([...args, '--plan', ws.planFile], { cwd: ws.dir, env: { HOOK_URL: '' } });

/** A plan that validated before and then broke the release; each is refused at `validate` and by `run`, where the value is written. */
const BROKE_A_RELEASE: { what: string; plan: string; value: string; message: RegExp }[] = [
  {
    what: 'rollback.budget: 600h (a timer over 2^31−1 ms fires after 1 ms: every rollback step was killed at once)',
    plan: smallPlan().replace('rollback:\n  steps:', 'rollback:\n  budget: 600h\n  steps:'),
    value: '600h',
    message: /rollback\.budget|expected a duration of at most 2147483647ms \(about 24\.8 days: the longest wait a timer can hold\), got 25d/,
  },
  {
    what: 'a step with timeout: 600h (killed as timed out at once, the release rolled back)',
    plan: smallPlan({ deploy: '    steps:\n      - name: deploy\n        run: echo deployed > deployed.txt\n        timeout: 600h' }),
    value: '600h',
    message: /expected a duration of at most 2147483647ms/,
  },
  {
    what: 'monitoring.interval: 0ms (every sample warm-up: a healthy release rolled back)',
    plan: smallPlan().replace('interval: 200ms', 'interval: 0ms'),
    value: '0ms',
    message: /expected a duration above 0: a wait of 0 would end at once/,
  },
  {
    what: 'blue-green colors: [blue, blue] (the run died on ${deploy.color} and stayed interrupted)',
    plan: smallPlan({
      deploy:
        '    strategy: blue-green\n    blueGreen:\n      colors: [blue, blue]\n      active: echo blue\n      deploy: [{ run: "true" }]\n      healthCheck: { run: "true" }\n      switch: [{ run: "true" }]',
    }),
    value: 'blue]',
    message: /"blue" repeats item 1 of the list \("blue"\): a release deploys to the colour that is not live, so the two colours must differ/,
  },
  {
    what: 'a rollback step with timeout: 0s (every rollback ended ROLLBACK FAILED)',
    plan: smallPlan({ rollback: '    - name: restore\n      run: echo restored > restored.txt\n      timeout: 0s' }),
    value: '0s',
    message: /expected a duration above 0/,
  },
];

describe('plan inputs: values that validated, then changed meaning in a release', function () {
  this.timeout(120_000);
  for (const c of BROKE_A_RELEASE) {
    it(`refuses ${c.what} at validate, with its line and column, and run starts nothing`, () => {
      const ws = repo(c.plan);
      const lines = c.plan.split('\n');
      const v = cli(ws, 'validate');
      assert.equal(v.status, 1, v.stdout + v.stderr);
      const m = /plan\.yaml:(\d+):(\d+): (.*)$/m.exec(v.stderr);
      assert.ok(m, v.stderr);
      assert.match(m[3], c.message);
      assert.ok(lines[Number(m[1]) - 1].includes(c.value), `line ${m[1]} is ${JSON.stringify(lines[Number(m[1]) - 1])}`);
      assert.equal(lines[Number(m[1]) - 1].indexOf(c.value.replace(/\]$/, '')) + 1 <= Number(m[2]), true, `column ${m[2]}`);
      const r = cli(ws, 'run', '--yes', '--tick', 'sign-off');
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, c.message);
      assert.ok(!fs.existsSync(path.join(ws.dir, '.release/runs')), 'no run was started');
      for (const f of ['prepared.txt', 'deployed.txt', 'restored.txt']) assert.ok(!fs.existsSync(path.join(ws.dir, f)), `${f}: a step ran`);
    });
  }
});

/** Every file under `dir` (git's own folder aside) with its bytes, links as their target: what must not change. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.name === '.git') continue;
      if (e.isSymbolicLink()) out[p] = `-> ${fs.readlinkSync(p)}`;
      else if (e.isDirectory()) walk(p);
      else out[p] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

describe('plan inputs: a run id given to a command is never a path', function () {
  this.timeout(600_000);
  let ws: { dir: string; planFile: string };
  let realId: string;
  let outside: string;
  let linkedTo: string;
  const LINKED = '20990101-000000-9.9.9';

  before(() => {
    ws = repo(smallPlan({ rollback: '    - name: restore\n      run: echo rolled back >> rolled-back.txt' }));
    const r = cli(ws, 'run', '--yes', '--tick', 'sign-off');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    [realId] = fs.readdirSync(path.join(ws.dir, '.release/runs'));
    const journal = fs.readFileSync(path.join(ws.dir, '.release/runs', realId, 'journal.jsonl'));
    // A released run's journal outside the workspace, where `../../../NAME` from .release/runs lands, and one a run folder links to.
    outside = tempDir('rp-outside-');
    fs.writeFileSync(path.join(outside, 'journal.jsonl'), journal);
    linkedTo = tempDir('rp-linked-');
    fs.writeFileSync(path.join(linkedTo, 'journal.jsonl'), journal);
    fs.symlinkSync(linkedTo, path.join(ws.dir, '.release/runs', LINKED));
    assert.equal(path.join(ws.dir, '.release/runs', `../../../${path.basename(outside)}`), outside);
  });

  const hostile = () => [
    `../../../${path.basename(outside)}`,
    outside,
    `${realId}/../../../../${path.basename(outside)}`,
    `${realId}/..`,
    '..',
    '.',
    '',
    'a/b',
    'run\nid',
    `${realId}\r`,
    ` ${realId}`,
    `\ufeff${realId}`,
    realId.replace(/\./g, '\u2024'),
    '２０２６０１０１',
    'x'.repeat(5000),
    LINKED,
  ];
  const COMMANDS: [string, (id: string) => string[]][] = [
    ['status', (id) => ['status', id]],
    ['report', (id) => ['report', id]],
    ['resume', (id) => ['resume', id, '--yes']],
    ['rollback', (id) => ['rollback', id, '--yes', '--reason', 'hostile id']],
    ['abandon', (id) => ['abandon', id, '--reason', 'hostile id']],
    ['compare (first)', (id) => ['compare', id, realId]],
    ['compare (second)', (id) => ['compare', realId, id]],
  ];

  for (const [name, args] of COMMANDS)
    it(`${name}: refuses each of 16 hostile ids, writes nothing and runs nothing outside .release/runs`, async () => {
      const ids = hostile();
      assert.ok(ids.length >= 12);
      const before = { outside: snapshot(outside), linked: snapshot(linkedTo), ws: snapshot(ws.dir) };
      for (const id of ids) {
        // The path out of the workspace and the linked folder through the real CLI process, every other id through its main in this process.
        const r = id === ids[0] || id === LINKED ? cli(ws, ...args(id)) : await inProcess(ws, ...args(id));
        const shown = JSON.stringify(id.slice(0, 40));
        assert.notEqual(r.status, 0, `${shown}: ${r.stdout}${r.stderr}`);
        // compare looks a run up among the listed ones, and a linked folder is not listed.
        const linked = name.startsWith('compare')
          ? /no run "20990101-000000-9\.9\.9"/
          : /is a symbolic link: a run's folder must be a folder of \.release\/runs/;
        assert.match(r.stderr, id === LINKED ? linked : /is not a run id: expected the name of a folder of \.release\/runs/, shown);
        assert.doesNotMatch(r.stdout, /ROLLED BACK|abandoned/, shown);
      }
      assert.deepEqual(snapshot(outside), before.outside, 'the journal outside the workspace was written');
      assert.deepEqual(snapshot(linkedTo), before.linked, 'the linked folder was written');
      assert.deepEqual(snapshot(ws.dir), before.ws, 'the workspace changed');
      assert.ok(!fs.existsSync(path.join(ws.dir, 'rolled-back.txt')), 'a rollback step ran');
    });

  it('the real run id still works for every command that reads it', () => {
    const r = cli(ws, 'report', realId);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(ws.dir, '.release/runs', realId, 'report.md')));
    const c = cli(ws, 'history');
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, new RegExp(realId.replace(/\./g, '\\.')));
    assert.doesNotMatch(c.stdout, /9\.9\.9/, 'the linked run is listed');
  });
});
