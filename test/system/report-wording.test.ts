import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { buildReport, renderMarkdown } from '../../src/core/report/report';
import { reportView } from '../../src/vscode/snapshot';
import { gitRepo, write } from '../support/helpers';
import { smallPlan, workspace } from '../support/fixtures';

/**
 * A real release of v1.2.3 over a tagged v1.2.2, whose health metric drops below its guard as soon
 * as monitoring starts: the guard breaches, the plan rolls back, and the report says so in words.
 */
async function breachedRelease() {
  const plan = smallPlan({
    monitoring: `  window: 20s\n  interval: 200ms\n  failureLimit: 2\n  baseline:\n    fixed: { health: 1 }\n  metrics:\n    - id: health\n      command: cat health.txt\n      guard: { min: 1 }`,
  });
  const ws = workspace(plan);
  fs.writeFileSync(path.join(ws.dir, '.gitignore'), '.release/runs/\n.release/lock\n*.txt\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: the first release');
  git('tag', 'v1.2.2');
  for (const [file, message] of [
    ['a.js', 'feat(cart): keep items, prices and totals on reload'],
    ['b.js', 'fix: round totals once'],
    ['c.js', 'feat: export orders'],
  ]) {
    write(ws.dir, file, message);
    git('add', '-A');
    git('commit', '-qm', message);
  }
  const r = await Release.start(
    ws.options({
      onEvent: (e) => {
        if (e.type === 'phase.started' && e.phase === 'monitoring') fs.writeFileSync(path.join(ws.dir, 'health.txt'), '0\n');
      },
    }),
  );
  return r.run();
}

describe('the report after an automatic rollback', function () {
  this.timeout(60_000);
  let s: Awaited<ReturnType<typeof breachedRelease>>;
  before(async () => {
    s = await breachedRelease();
  });

  it('was a real guard breach and rollback', () => {
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(s.rollback?.trigger, 'guard');
    assert.equal(s.previousVersion, '1.2.2');
  });

  it('says in Verification what was rolled back to, which metric breached, its value and its guard', () => {
    const r = buildReport(s);
    assert.equal(r.verification.dbMigration, 'Success, then rolled back to v1.2.2');
    assert.equal(
      r.verification.serviceStatus,
      'Rolled back to v1.2.2: v1.2.3 was deployed, then health breached its guard min 1 with 0.00, 2 samples in a row',
    );
    assert.equal(r.verification.monitoring, 'Abnormal: health breached its guard min 1 with 0.00, 2 samples in a row; rolled back to v1.2.2');
    assert.doesNotMatch(renderMarkdown(r), /\(rolled back\)/);
  });

  it('gives the breached metric the verdict "breached", with the value, the guard and the rollback', () => {
    const [m] = buildReport(s).monitoring;
    assert.equal(m.metric, 'health');
    assert.equal(m.verdict, 'breached');
    assert.equal(m.breaches, 1);
    assert.match(m.explanation!, /^0\.00 against its guard min 1, 2 samples in a row, at \d\d:\d\d:\d\d UTC; rolled back to v1\.2\.2$/);
    assert.match(renderMarkdown(buildReport(s)), /\| health \| 1\.00 \| [\d.]+ \| \d+ \| 1 \| breached: 0\.00 against its guard min 1, 2 samples in a row/);
  });

  it('writes list fields as the spec does: Feature A, Fix B', () => {
    const md = renderMarkdown(buildReport(s));
    assert.match(md, /\n- \*\*Content\*\*: export orders, cart: keep items, prices and totals on reload, round totals once\n/);
    assert.match(md, /\n- \*\*New\*\*: export orders, cart: keep items, prices and totals on reload\n- \*\*Fixed\*\*: round totals once\n/);
  });

  it('shows the panel the same sections, field for field, as report.md', () => {
    const view = reportView(s);
    const rows = new Map(view.sections.flatMap((sec) => sec.rows.map(([k, v]) => [`${sec.title}/${k}`, v] as const)));
    const r = buildReport(s);
    assert.equal(rows.get('3. Verification/Service Status'), r.verification.serviceStatus);
    assert.equal(rows.get('3. Verification/Monitoring'), r.verification.monitoring);
    assert.equal(rows.get('1. Release Log/Content'), 'export orders, cart: keep items, prices and totals on reload, round totals once');
    assert.equal(rows.get('4. Incident Response/Rollback Outcome'), 'rolled-back');
    assert.match(
      rows.get('4. Incident Response/1.')!,
      /^[\d-]+ [\d:]+ UTC — trigger: guard; by: monitor; reason: health: 0\.00 is below the minimum 1\.00 for 2 sample\(s\) in a row; outcome: rolled-back \(every rollback step passed\); duration: \d+(\.\d)? m?s \(budget 5 min\)$/,
    );
    // Every field of the spec's sections reads the same in both, bold marks aside.
    const md = view.markdown;
    for (const sec of view.sections.slice(0, 4))
      for (const [k, v] of sec.rows) if (!/^\d+\.$/.test(k)) assert.ok(md.includes(`- **${k}**: ${v}`), `report.md has "${k}: ${v}"`);
  });
});
