import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { releaseHistory, renderHistory } from '../../src/core/engine/queries/releaseHistory';
import { main } from '../../src/cli/cliMain';
import { atVersion, workspace } from '../support/fixtures';

describe('release history (every run of the workspace, newest first)', () => {
  it('lists released, refused and rolled-back runs with outcome, who, when and how long; stray folders and empty journals are skipped', async () => {
    const ws = workspace();
    const ok = await (await Release.start(ws.options({ runId: '20260101-100000-1.2.3' }))).run();
    assert.equal(ok.status, 'released');
    fs.writeFileSync(path.join(ws.dir, 'verdict.txt'), 'QA verdict: NOT Ready for Launch\n');
    // A released version does not go out again: the next runs are of the next versions.
    const refused = await (await Release.start(atVersion(ws, '1.2.4', { runId: '20260101-110000-1.2.3' }))).run();
    assert.equal(refused.status, 'aborted');
    fs.writeFileSync(path.join(ws.dir, 'verdict.txt'), 'QA verdict: Ready for Launch\n');
    fs.writeFileSync(path.join(ws.dir, 'health.txt'), '0\n');
    // Verification reads the version deployed, so that the monitor is what rolls this one back.
    const bad = await (
      await Release.start(
        atVersion(ws, '1.2.5', { runId: '20260101-120000-1.2.3' }, (t) => t.replace('grep -q 1.2.3 deployed.txt', 'grep -q 1.2.5 deployed.txt')),
      )
    ).run();
    assert.equal(bad.status, 'rolled-back', bad.outcomeMessage);
    // Not runs: a folder without a journal, an empty journal, a stray file.
    fs.mkdirSync(path.join(ws.dir, '.release/runs/20260101-130000-x'));
    fs.mkdirSync(path.join(ws.dir, '.release/runs/20260101-140000-y'));
    fs.writeFileSync(path.join(ws.dir, '.release/runs/20260101-140000-y/journal.jsonl'), '');
    fs.writeFileSync(path.join(ws.dir, '.release/runs/.DS_Store'), 'x');

    const rows = releaseHistory(ws.dir);
    assert.deepEqual(
      rows.map((r) => [r.runId, r.version, r.status, r.user, r.environment]),
      [
        ['20260101-120000-1.2.3', '1.2.5', 'rolled-back', 'Test Engineer', 'production'],
        ['20260101-110000-1.2.3', '1.2.4', 'aborted', 'Test Engineer', 'production'],
        ['20260101-100000-1.2.3', '1.2.3', 'released', 'Test Engineer', 'production'],
      ],
    );
    assert.equal(rows[0].rollback?.trigger, 'guard');
    assert.match(rows[0].rollback.reason, /health/);
    assert.match(rows[1].outcomeMessage!, /not a go/);
    for (const r of rows) {
      assert.ok(r.durationMs !== undefined && r.durationMs >= 0 && r.durationMs < 120_000, `${r.runId}: ${r.durationMs}`);
      assert.ok(fs.existsSync(r.journal) && fs.existsSync(r.report), r.runId);
      assert.equal(r.live, false);
    }
    assert.deepEqual(
      releaseHistory(ws.dir, { limit: 1 }).map((r) => r.runId),
      ['20260101-120000-1.2.3'],
    );
    assert.deepEqual(releaseHistory(ws.dir, { plan: 'other/plan.yaml' }), []);
    assert.equal(releaseHistory(ws.dir, { plan: '.release/plan.yaml' }).length, 3);

    const table = renderHistory(rows, (ms) => `${(ms / 1000).toFixed(1)} s`).split('\n');
    assert.match(table[0], /^RUN\s+VERSION\s+ENVIRONMENT\s+OUTCOME\s+STARTED\s+DURATION\s+BY$/);
    assert.match(table[1], /^20260101-120000-1\.2\.3\s+1\.2\.5\s+production\s+rolled-back\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d+\.\d s\s+Test Engineer$/);
    assert.equal(table.length, 4);

    // The same history from the CLI: a table, JSON, and the newest N.
    const cli = async (...argv: string[]) => {
      let out = '';
      let err = '';
      const code = await main([...argv, '--plan', ws.planFile], { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
      return { code, out, err };
    };
    const t = await cli('history');
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /^RUN\s+VERSION/);
    assert.equal(t.out.trim().split('\n').length, 4);
    const j = await cli('history', '--json', '--limit', '2');
    assert.deepEqual(
      (JSON.parse(j.out) as { runId: string; status: string }[]).map((r) => [r.runId, r.status]),
      [
        ['20260101-120000-1.2.3', 'rolled-back'],
        ['20260101-110000-1.2.3', 'aborted'],
      ],
    );
    for (const bad of ['0', '=-1', 'x', '1.5']) {
      const r = await cli('history', ...(bad.startsWith('=') ? [`--limit${bad}`] : ['--limit', bad]));
      assert.equal(r.code, 2, bad);
      assert.match(r.err, /--limit expects a whole number above 0/);
    }
  });

  it('an empty workspace has no history, and says so', () => {
    const ws = workspace();
    assert.deepEqual(releaseHistory(ws.dir), []);
    assert.equal(renderHistory([], String), 'No releases yet in this workspace.');
  });
});
