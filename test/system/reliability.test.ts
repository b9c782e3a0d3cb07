import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Release } from '../../src/core/engine/engine';
import { Journal, JournalWriteError, readJournal } from '../../src/core/journal/journal';
import { foldJournal } from '../../src/core/base/fold';
import { buildReport, renderMarkdown } from '../../src/core/report/report';
import { ROOT, tempDir } from '../support/helpers';
import { scripted, smallPlan, workspace } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

describe('reliability: the disk refusing writes', () => {
  it('does not start when the run folder cannot be created, and says where', async () => {
    const ws = workspace();
    // A read-only file system for the runs folder: the kernel refuses the run's folder, root or not.
    const runs = path.join(ws.dir, '.release', 'runs');
    fs.mkdirSync(runs, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', runs]);
    try {
      await assert.rejects(
        Release.start(ws.options()),
        (e: Error) =>
          e instanceof JournalWriteError && /cannot write the release journal .*\/journal\.jsonl: ENOENT; the release stopped before acting/.test(e.message),
      );
    } finally {
      execFileSync('umount', ['-l', runs]);
    }
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')), 'nothing ran');
    assert.ok(!fs.existsSync(path.join(ws.dir, '.release', 'lock')), 'the lock was given back');
  });

  it('does not start when the journal device is full', async () => {
    const ws = workspace();
    const run = path.join(ws.dir, '.release', 'runs', 'full-run');
    fs.mkdirSync(run, { recursive: true });
    fs.symlinkSync('/dev/full', path.join(run, 'journal.jsonl'));
    await assert.rejects(Release.start(ws.options({ runId: 'full-run' })), /ENOSPC; the release stopped before acting/);
    assert.ok(!fs.existsSync(path.join(ws.dir, 'prepared.txt')));
  });

  it('when the disk fills mid-release: ends the step whose output can no longer be kept, stops there with the reason, runs nothing after', async () => {
    const ws = workspace(
      smallPlan({
        deploy: `    steps:\n      - name: fill the disk\n        run: head -c 2000000 /dev/zero > .release/runs/filler; echo "disk is full now"; sleep 30\n      - name: never\n        run: touch never-ran.txt`,
      }),
    );
    const runs = path.join(ws.dir, '.release', 'runs');
    fs.mkdirSync(runs, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', runs]);
    try {
      const t0 = Date.now();
      const s = await (await Release.start(ws.options())).run();
      assert.ok(Date.now() - t0 < 20_000, 'the step was ended, not left to sleep');
      assert.equal(s.status, 'paused');
      assert.match(s.steps['deploy/0'].message!, /^cannot write the step log .*deploy_0\.1\.log: ENOSPC$/);
      assert.ok(!fs.existsSync(path.join(ws.dir, 'never-ran.txt')));
    } finally {
      execFileSync('umount', ['-l', runs]);
    }
  });

  it('never notifies a listener of an event the disk refused', () => {
    const dir = tempDir();
    fs.symlinkSync('/dev/full', path.join(dir, 'journal.jsonl'));
    const j = new Journal(path.join(dir, 'journal.jsonl'));
    let heard = 0;
    j.onEvent(() => heard++);
    assert.throws(() => j.append({ type: 'note.added', author: 'a', text: 'b' }), JournalWriteError);
    assert.equal(heard, 0);
    j.close();
  });
});

describe('reliability: a failing rollback is loud everywhere', () => {
  it('journal, state, report and CLI exit code all say rollback-failed', () => {
    const ws = workspace(
      smallPlan({
        deploy: `    steps:\n      - name: deploy\n        run: exit 1`,
        rollback: `    - name: switch back\n      run: echo "load balancer API timed out" >&2; exit 28`,
      }),
    );
    const r = spawnSync('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { encoding: 'utf8' });
    assert.equal(r.status, 1, 'rollback-failed is a failure, never "rolled back" (3) or "released" (0)');
    assert.match(r.stdout, /✗✗ ROLLBACK FAILED at switch back: exit code 28/);
    assert.match(r.stdout, /- \*\*Rollback Outcome\*\*: \*\*ROLLBACK FAILED\*\*/);
    const runId = fs.readdirSync(path.join(ws.dir, '.release', 'runs'))[0];
    const s = foldJournal(readJournal(path.join(ws.dir, '.release', 'runs', runId, 'journal.jsonl')).events);
    assert.equal(s.status, 'rollback-failed');
    assert.equal(buildReport(s).incidentResponse.outcome, 'rollback-failed');
    const status = spawnSync('node', [CLI, 'status', '--plan', ws.planFile], { encoding: 'utf8' });
    assert.match(status.stdout, /: ROLLBACK-FAILED/);
    assert.match(renderMarkdown(buildReport(s)), /Outcome: \*\*rollback-failed\*\*/);
  });

  it('a second rollback is offered after rollback-failed, and can succeed', async () => {
    const ws = workspace(
      smallPlan({
        deploy: `    steps:\n      - name: deploy\n        run: exit 1`,
        rollback: `    - name: restore\n      run: test -f lb-back.txt && cp '\${backup.path}' state.txt`,
      }),
    );
    const r = await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }));
    assert.equal((await r.run()).status, 'rollback-failed');
    fs.writeFileSync(path.join(ws.dir, 'lb-back.txt'), '');
    const again = await (await Release.reopen(ws.options(), r.runId)).rollbackFinished('second attempt after the load balancer came back');
    assert.equal(again.status, 'rolled-back');
  });
});
