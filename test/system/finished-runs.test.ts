import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { main } from '../../src/cli/cliMain';
import { buildReport } from '../../src/core/report/report';
import { atVersion, smallPlan, workspace, type Workspace } from '../support/fixtures';

/** The CLI over a workspace, its output kept. */
async function cli(ws: Workspace, ...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main([...argv, '--plan', ws.planFile], { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
  return { code, out, err };
}

describe('a finished run, as status and history name it', () => {
  it('an abandoned run reads "abandoned" in history (table and JSON), status and the report, with who and why', async function () {
    this.timeout(60_000);
    const ws = workspace(smallPlan().replace('grep -q 1.2.3 deployed.txt', 'exit 1'));
    const r = await Release.start(ws.options({ runId: '20260101-100000-1.2.3' }));
    const paused = await r.run();
    assert.equal(paused.status, 'paused', paused.outcomeMessage);
    const gone = await cli(ws, 'abandon', r.runId, '--reason', 'production handled by hand');
    assert.equal(gone.code, 0, gone.err);
    assert.match(gone.out, /^abandoned tiny 1\.2\.3 \(run 20260101-100000-1\.2\.3\): abandoned by .+: production handled by hand$/m);

    const table = await cli(ws, 'history');
    assert.equal(table.code, 0, table.err);
    assert.match(table.out.split('\n')[1], /^20260101-100000-1\.2\.3\s+1\.2\.3\s+production\s+abandoned\s/);
    const json = await cli(ws, 'history', '--json');
    assert.deepEqual(
      (JSON.parse(json.out) as { status: string }[]).map((x) => x.status),
      ['abandoned'],
    );
    const status = await cli(ws, 'status', r.runId);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out.split('\n')[0], /^tiny 1\.2\.3 → production: ABANDONED \(abandoned by .+: production handled by hand\)$/);
    const report = fs.readFileSync(path.join(ws.dir, '.release/runs', r.runId, 'report.md'), 'utf8');
    assert.match(report, /Outcome: \*\*abandoned\*\*/);

    // A run stopped by its gates (no go) is not abandoned: it stays "aborted".
    fs.writeFileSync(path.join(ws.dir, 'verdict.txt'), 'QA verdict: NOT Ready for Launch\n');
    const refused = await (await Release.start(atVersion(ws, '1.2.4', { runId: '20260101-110000-1.2.4' }))).run();
    assert.equal(refused.status, 'aborted');
    assert.equal(buildReport(refused).outcome, 'aborted');
    const both = await cli(ws, 'history', '--json');
    assert.deepEqual(
      (JSON.parse(both.out) as { status: string }[]).map((x) => x.status),
      ['aborted', 'abandoned'],
    );
  });

  it('after a rollback, status shows the Announcement phase as the rollback announcement went (passed, its step listed), not pending', async function () {
    this.timeout(60_000);
    const extra = `announce:\n  command: 'printf "%s|%s" "$RELEASE_PILOT_OUTCOME" "$RELEASE_PILOT_ANNOUNCEMENT" > rollback-announced.txt'\n`;
    const ws = workspace(smallPlan({ extra }), { 'health.txt': '0\n' });
    const s = await (await Release.start(ws.options({ runId: '20260101-100000-1.2.3' }))).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.match(fs.readFileSync(path.join(ws.dir, 'rollback-announced.txt'), 'utf8'), /^rolled-back\|tiny 1\.2\.3 on production: ROLLED BACK/);
    assert.ok(!fs.existsSync(path.join(ws.dir, 'announced.txt')), "the release's own announcement step did not run");

    const status = await cli(ws, 'status', s.runId);
    assert.equal(status.code, 0, status.err);
    const lines = status.out.split('\n');
    const at = lines.findIndex((l) => /^ {2}\S+\s+Announcement$/.test(l));
    assert.ok(at > 0, status.out);
    assert.match(lines[at], /^ {2}passed\s+Announcement$/, status.out);
    assert.match(lines[at + 1], /^ {6}passed\s+Announce the rollback \(command\)/, status.out);
    const announcement = s.phases.find((p) => p.id === 'announcement')!;
    assert.equal(announcement.state, 'passed');
    assert.ok(announcement.startedAt && announcement.finishedAt, JSON.stringify(announcement));
    // The report's timeline says the same.
    assert.deepEqual(
      buildReport(s)
        .timeline.filter((p) => p.phase === 'Announcement')
        .map((p) => [p.state, p.steps.map((x) => x.name)]),
      [['passed', ['Announce the rollback (command)', 'Announce the rollback (notification)']]],
    );
  });

  it('a rollback whose announcement fails shows the Announcement phase failed, and the run still rolled back', async function () {
    this.timeout(60_000);
    const extra = `announce:\n  command: 'echo no route to chat >&2; exit 3'\n`;
    const ws = workspace(smallPlan({ extra }), { 'health.txt': '0\n' });
    const s = await (await Release.start(ws.options({ runId: '20260101-100000-1.2.3' }))).run();
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    const status = await cli(ws, 'status', s.runId);
    assert.match(status.out, /^ {2}failed\s+Announcement\n {6}failed\s+Announce the rollback \(command\)/m, status.out);
  });
});
