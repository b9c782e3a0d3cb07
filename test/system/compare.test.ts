import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Release } from '../../src/core/engine/run/engine';
import { comparableRuns, compareRuns } from '../../src/core/engine/queries/compareRuns';
import { renderComparison } from '../../src/core/engine/queries/comparisonText';
import { parsePlan } from '../../src/core/plan/load';
import { buildReport } from '../../src/core/report/report';
import { main } from '../../src/cli/cliMain';
import { gitRepo, write } from '../support/helpers';
import { atVersion, journalLines, smallPlan, workspace } from '../support/fixtures';

/** The small plan, its verification reading the version deployed (so that the monitor is what rolls a bad one back). */
const plan = smallPlan().replace('grep -q 1.2.3 deployed.txt', 'grep -qx "version ${release.version}" deployed.txt');

/**
 * Two real runs in a git repository: 1.2.3 released (tagged v1.2.3), then three commits (a feature, a
 * fix, a chore) tagged v1.2.5, whose health check fails in the monitoring window: rolled back.
 */
async function twoRuns() {
  const ws = workspace(plan);
  write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: first orders API');
  git('tag', 'v1.2.3');
  const good = await (await Release.start(ws.options({ runId: '20260101-100000-1.2.3' }))).run();
  assert.equal(good.status, 'released', good.outcomeMessage);
  write(ws.dir, 'src/notes.js', 'module.exports = 1;\n');
  git('add', '-A');
  git('commit', '-qm', 'feat(orders): a note on each order');
  write(ws.dir, 'src/total.js', 'module.exports = 2;\n');
  git('add', '-A');
  git('commit', '-qm', 'fix: totals rounded to the cent');
  write(ws.dir, 'src/tidy.js', 'module.exports = 3;\n');
  git('add', '-A');
  git('commit', '-qm', 'chore: tidy the build');
  git('tag', 'v1.2.5');
  fs.writeFileSync(`${ws.dir}/health.txt`, '0\n');
  const opts = atVersion(ws, '1.2.5', { runId: '20260101-120000-1.2.5' });
  git('commit', '-qam', 'chore: plan at 1.2.5');
  git('tag', '-f', 'v1.2.5');
  const bad = await (await Release.start(opts)).run();
  assert.equal(bad.status, 'rolled-back', bad.outcomeMessage);
  return { ws, git, good, bad };
}

describe('compare two releases (the monitoring windows side by side, the changelog between them)', () => {
  it('builds each window from its journal and the changelog from git, whichever run is named first; the CLI prints the same', async function () {
    this.timeout(120_000);
    const { ws, git, good, bad } = await twoRuns();
    assert.deepEqual(
      comparableRuns(ws.dir, bad.runId).map((r) => [r.runId, r.version, r.status]),
      [[good.runId, '1.2.3', 'released']],
    );

    // The journal keeps each metric's guard as the plan said then: a later edit of the plan changes nothing.
    const window = journalLines(ws, bad.runId).find((e) => e.type === 'monitoring.window');
    assert.deepEqual(window?.guards, [{ metric: 'health', title: 'health', unit: '', rules: 'min 1' }]);
    const edited = parsePlan(fs.readFileSync(ws.planFile, 'utf8').replace('guard: { min: 1 }', 'guard: { min: 5 }'), ws.planFile);
    assert.ok(edited.ok);

    const c = await compareRuns(ws.dir, bad.runId, good.runId, { plan: edited.plan });
    assert.deepEqual(await compareRuns(ws.dir, good.runId, bad.runId, { plan: edited.plan }), c);
    assert.equal(c.plan, '.release/plan.yaml');
    const [e, l] = [c.earlier, c.later];
    assert.deepEqual([e.runId, e.version, e.status], [good.runId, '1.2.3', 'released']);
    assert.deepEqual([l.runId, l.version, l.status], [bad.runId, '1.2.5', 'rolled-back']);
    assert.equal(e.commit, git('rev-parse', 'v1.2.3'));
    assert.equal(l.commit, git('rev-parse', 'v1.2.5'));
    assert.equal(e.rollback, undefined);
    assert.equal(l.rollback?.trigger, 'guard');
    assert.match(l.rollback.reason, /health/);

    // Both windows: the fixed baseline, the guard, every sample placed from the window's start, the verdict.
    for (const side of [e, l]) {
      assert.equal(side.metrics.length, 1);
      const m = side.metrics[0];
      assert.deepEqual([m.id, m.title, m.guard], ['health', 'health', 'min 1']);
      assert.deepEqual(m.baseline, { mean: 1, stdev: 0, samples: [1], fixed: true });
      // The good window runs its whole second (5 samples at 200 ms); the bad one ends at its first, confirmed, breach.
      assert.ok(m.samples.length >= (side === e ? 3 : 1), `${side.runId}: ${m.samples.length} samples`);
      assert.equal(side.window.samples, m.samples.length);
      const offsets = m.samples.map((x) => x.offsetMs);
      assert.ok(
        offsets.every((o, i) => o >= 0 && o < 10_000 && (i === 0 || o >= offsets[i - 1])),
        offsets.join(' '),
      );
    }
    const [em, lm] = [e.metrics[0], l.metrics[0]];
    assert.deepEqual(new Set(em.samples.map((x) => `${x.value} ${x.status}`)), new Set(['1 ok']));
    assert.equal(em.breaches, 0);
    assert.equal(em.verdict?.verdict, 'pass');
    assert.ok(lm.samples.length && lm.samples.every((x) => x.value === 0 && x.status === 'breach'), JSON.stringify(lm.samples));
    assert.equal(lm.breaches, 1);

    // The changelog between the two released commits, as the plan's changelog reads it: the chores are left out.
    assert.ok(!('unavailable' in c.changelog), JSON.stringify(c.changelog));
    const cl = c.changelog;
    assert.equal(cl.direction, 'forward');
    assert.deepEqual(cl.sections.Added, ['orders: a note on each order']);
    assert.deepEqual(cl.sections.Fixed, ['totals rounded to the cent']);
    assert.match(cl.omitted, /2 commit\(s\) of hidden types \(chore 2\)/);

    const text = renderComparison(c).split('\n');
    assert.equal(text[0], 'Compare tiny → production: 1.2.3 with 1.2.5 (.release/plan.yaml)');
    assert.match(text[2], /^\s+1\.2\.3 · run 20260101-100000-1\.2\.3\s+1\.2\.5 · run 20260101-120000-1\.2\.5$/);
    assert.ok(
      text.some((x) => /^outcome\s+released\s+rolled-back$/.test(x)),
      text.join('\n'),
    );
    assert.ok(
      text.some((x) => /^health\s+guard min 1\s+guard min 1$/.test(x)),
      text.join('\n'),
    );
    assert.ok(
      text.some((x) => /^ {2}baseline\s+1\.00 \(fixed\)\s+1\.00 \(fixed\)$/.test(x)),
      text.join('\n'),
    );
    assert.ok(
      text.some((x) => /^ {2}window\s+\d+ sample\(s\): min 1\.00, max 1\.00\s+\d+ sample\(s\): min 0\.00, max 0\.00$/.test(x)),
      text.join('\n'),
    );
    assert.ok(
      text.some((x) => /^ {2}breaches\s+0\s+1$/.test(x)),
      text.join('\n'),
    );
    const heading = text.findIndex((x) => x.startsWith('Changes 1.2.3 (run 20260101-100000-1.2.3) → 1.2.5 (run 20260101-120000-1.2.5)'));
    assert.ok(heading > 0, text.join('\n'));
    assert.deepEqual(text.slice(heading + 1), [
      '### Added',
      '- orders: a note on each order',
      '### Fixed',
      '- totals rounded to the cent',
      'Not listed: 2 commit(s) of hidden types (chore 2).',
    ]);

    // The CLI: the same text, the same data as JSON, and refusals that say what is wrong.
    const cli = async (...argv: string[]) => {
      let out = '';
      let err = '';
      const code = await main([...argv, '--plan', ws.planFile], { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
      return { code, out, err };
    };
    const t = await cli('compare', good.runId, bad.runId);
    assert.equal(t.code, 0, t.err);
    assert.equal(t.out, renderComparison(await compareRuns(ws.dir, good.runId, bad.runId, { plan: parsePlanFile(ws.planFile) })) + '\n');
    assert.match(t.out, /- orders: a note on each order\n/);
    const j = await cli('compare', bad.runId, good.runId, '--json');
    assert.equal(j.code, 0, j.err);
    assert.deepEqual(JSON.parse(j.out), JSON.parse(JSON.stringify(c)));
    const same = await cli('compare', good.runId, good.runId);
    assert.deepEqual([same.code, same.err.trim()], [1, `release-pilot: compare needs two different runs, got ${good.runId} twice`]);
    const missing = await cli('compare', good.runId, '20990101-000000-9.9.9');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no run "20990101-000000-9\.9\.9"/);
    const one = await cli('compare', good.runId);
    assert.equal(one.code, 2);
    assert.match(one.err, /compare takes two runs/);
  });
});

describe('compare and the report give a metric one verdict', () => {
  it('a metric whose breach rolled the run back is "breached" in the comparison, its text and the report alike, never "—"', async function () {
    this.timeout(120_000);
    const { ws, good, bad } = await twoRuns();
    const c = await compareRuns(ws.dir, good.runId, bad.runId, { plan: parsePlanFile(ws.planFile) });
    const report = buildReport(bad).monitoring.find((m) => m.metric === 'health')!;
    assert.equal(report.verdict, 'breached');
    const later = c.later.metrics[0];
    assert.deepEqual([later.verdict?.verdict, later.verdict?.explanation], [report.verdict, report.explanation]);
    assert.match(later.verdict.explanation ?? '', /^0\.00 against its guard min 1, 1 sample in a row/);
    const earlier = buildReport(good).monitoring.find((m) => m.metric === 'health')!;
    assert.deepEqual([c.earlier.metrics[0].verdict?.verdict, c.earlier.metrics[0].verdict?.explanation], [earlier.verdict, earlier.explanation]);
    const row = renderComparison(c)
      .split('\n')
      .find((x) => x.startsWith('  verdict'));
    assert.ok(row, renderComparison(c));
    assert.match(row, /^ {2}verdict\s+pass: .+\s{2}breached: 0\.00 against its guard min 1/);
    assert.ok(!row.includes('—'), row);
  });
});

function parsePlanFile(file: string) {
  const r = parsePlan(fs.readFileSync(file, 'utf8'), file);
  if (!r.ok) throw new Error('plan');
  return r.plan;
}
