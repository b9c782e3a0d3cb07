import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, tempDir } from '../support/helpers';
import { blueGreenPlan, blueGreenRepo } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

function cli(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A workspace with the blue-green plan, released once: green serves, blue is kept up for the rollback. */
function released(rollbackRun = 'echo ${deploy.active} > state/active'): string {
  const { dir } = blueGreenRepo(blueGreenPlan({ rollbackRun }), { prefix: 'rp-journal-trust-', tag: 'v1.0.0' });
  const r = cli(dir, 'run', '--yes');
  assert.equal(r.code, 0, r.out + r.err);
  assert.equal(activeColour(dir), 'green');
  return dir;
}

const activeColour = (dir: string) => fs.readFileSync(path.join(dir, 'state/active'), 'utf8').trim();

function journalOf(dir: string): string {
  const runs = path.join(dir, '.release/runs');
  const [run] = fs.readdirSync(runs);
  return path.join(runs, run, 'journal.jsonl');
}

/** Rewrites each event of the run's journal, as a person with an editor could. */
function editJournal(dir: string, edit: (e: Record<string, unknown>) => void): void {
  const file = journalOf(dir);
  const events = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const e of events) edit(e);
  fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
}

const rollbackStarted = (dir: string) => fs.readFileSync(journalOf(dir), 'utf8').includes('"rollback.started"');

describe('a journal edited by hand never drives a command', function () {
  this.timeout(300_000);
  let base: string;
  before(() => {
    base = released();
  });
  /** A copy of the released workspace, so each edit starts from the same journal. */
  function copy(): string {
    const dir = tempDir('rp-journal-edit-');
    fs.cpSync(base, dir, { recursive: true });
    return dir;
  }

  it('refuses a rollback whose journal colour carries a shell injection, and runs nothing', () => {
    const dir = copy();
    const marker = path.join(dir, 'PWNED');
    editJournal(dir, (e) => {
      if (e.type === 'deploy.colors') e.active = `blue; touch ${marker} #`;
    });
    const r = cli(dir, 'rollback', '--yes', '--reason', 'test');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(
      r.err,
      /the journal of run \S+ was edited or damaged: the active colour is "blue; touch .*", which is not one of the plan's colours \(blue, green\); nothing ran/,
    );
    assert.equal(fs.existsSync(marker), false, 'the injected command ran');
    assert.equal(activeColour(dir), 'green');
    assert.equal(rollbackStarted(dir), false);
  });

  const corpus: [string, (e: Record<string, unknown>, marker: string) => void, RegExp][] = [
    ['a colour with $(…)', (e, m) => e.type === 'deploy.colors' && (e.active = `$(touch ${m})`), /the active colour is/],
    ['a colour with backticks', (e, m) => e.type === 'deploy.colors' && (e.active = `\`touch ${m}\``), /the active colour is/],
    ['a colour with a newline', (e, m) => e.type === 'deploy.colors' && (e.active = `blue\ntouch ${m}`), /the active colour is "blue\\ntouch/],
    ['a colour the plan does not declare', (e) => e.type === 'deploy.colors' && (e.active = 'red'), /the active colour is "red"/],
    ['a unicode look-alike of a colour', (e) => e.type === 'deploy.colors' && (e.active = 'blu\u0435'), /the active colour is "blu/],
    ['an empty colour', (e) => e.type === 'deploy.colors' && (e.active = ''), /the active colour is ""/],
    ['a huge colour', (e) => e.type === 'deploy.colors' && (e.active = 'blue'.repeat(50_000)), /the active colour is "blueblue.*…"/],
    ['an idle colour with a shell operator', (e, m) => e.type === 'deploy.colors' && (e.idle = `green && touch ${m}`), /the idle colour is/],
    ['both colours the same', (e) => e.type === 'deploy.colors' && (e.active = 'green'), /the idle colour is "green", which is not the other colour/],
    ['a version with shell characters', (e, m) => e.type === 'release.started' && (e.version = `1.0.0; touch ${m}`), /the version is "1\.0\.0; touch/],
    ['a previous version with $(…)', (e, m) => e.type === 'release.started' && (e.previousVersion = `$(touch ${m})`), /the previous version is/],
    ['a run id that climbs out of the runs folder', (e) => e.type === 'release.started' && (e.runId = '../../backup'), /the run id is "\.\.\/\.\.\/backup"/],
    [
      'a step log outside the run folder',
      (e) => e.type === 'step.started' && (e.log = '../../../../etc/passwd'),
      /the log of step \S+ is "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd"/,
    ],
    ['a colour that is not text', (e) => e.type === 'deploy.colors' && (e.active = 42), /the active colour is 42/],
  ];
  for (const [title, edit, says] of corpus)
    it(`refuses a rollback over ${title}, and runs nothing`, () => {
      const dir = copy();
      const marker = path.join(dir, 'PWNED');
      editJournal(dir, (e) => edit(e, marker));
      const r = cli(dir, 'rollback', '--yes', '--reason', 'test');
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.err, /was edited or damaged: /);
      assert.match(r.err, says);
      assert.match(r.err, /; nothing ran/);
      assert.equal(fs.existsSync(marker), false, 'the injected command ran');
      assert.equal(activeColour(dir), 'green');
      assert.equal(rollbackStarted(dir), false);
    });

  it('refuses a rollback whose journal swapped the colours, naming the live one and the recorded one', () => {
    const dir = copy();
    editJournal(dir, (e) => {
      if (e.type === 'deploy.colors') Object.assign(e, { active: 'green', idle: 'blue' });
    });
    const r = cli(dir, 'rollback', '--yes', '--reason', 'test');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(
      r.err,
      /the live colour is green \(read with blueGreen\.active\), but the journal of run \S+ says the release left the traffic on blue; .*nothing ran/,
    );
    assert.equal(activeColour(dir), 'green');
    assert.equal(rollbackStarted(dir), false);
  });

  it('fails a rollback whose steps pass but leave the traffic on the new colour', () => {
    const dir = released('echo the switch back was forgotten');
    const r = cli(dir, 'rollback', '--yes', '--reason', 'test');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /rollback-failed/);
    assert.match(r.out, /the traffic is on green after the rollback steps, not on the old colour blue/);
    assert.equal(activeColour(dir), 'green');
  });

  it('rolls back an untouched journal: the traffic is back on the old colour', () => {
    const dir = copy();
    const r = cli(dir, 'rollback', '--yes', '--reason', 'test');
    // Exit code 3: rolled back.
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /rolled-back/);
    assert.equal(activeColour(dir), 'blue');
  });
});
