import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Release } from '../../src/core/engine/run/engine';
import { buildReport, renderMarkdown } from '../../src/core/report/report';
import { parsePlan, formatProblem } from '../../src/core/plan/load';
import { ROOT } from '../support/helpers';
import { waitFor } from '../support/waitFor';
import { journalLines, scripted, smallPlan, workspace } from '../support/fixtures';
import { freePort, startServer, type TestServer } from '../support/server';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** A real HTTP server on 127.0.0.1: each path answers with the status and after the delay given. */
function server(routes: Record<string, { status: number; delayMs?: number }>): Promise<TestServer> {
  return startServer((req, res) => {
    const r = routes[req.url ?? ''] ?? { status: 404 };
    setTimeout(() => {
      res.statusCode = r.status;
      res.end(`status ${r.status}`);
    }, r.delayMs ?? 0);
  });
}

const verification = (body: string) => `  verification:\n${body}\n  announcement:`;
/** smallPlan with its verification phase replaced. */
const planWithVerification = (body: string, over: Parameters<typeof smallPlan>[0] = {}) =>
  smallPlan(over).replace(/ {2}verification:\n[\s\S]*?\n {2}announcement:/, verification(body));

const finishedOf = (lines: Record<string, unknown>[], step: string) => lines.filter((e) => e.type === 'step.finished' && e.step === step);
const startedOf = (lines: Record<string, unknown>[], step: string) => lines.filter((e) => e.type === 'step.started' && e.step === step);

describe('verification that fails says what failed, once per attempt', function () {
  this.timeout(60_000);

  it('a log scan that finds an error line: one failed result per attempt, with the first matching line', async () => {
    const ws = workspace(
      planWithVerification(
        `    logs:\n      - name: Scan the log\n        run: printf 'started\\nERROR db down\\nERROR again\\n'\n        errorPatterns: [ERROR]`,
      ),
    );
    const r = await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'retry' }, { action: 'pause' }] }) }));
    const s = await r.run();
    assert.equal(s.status, 'paused');
    const lines = journalLines(ws, r.runId);
    const key = 'verification/logs.0';
    assert.equal(startedOf(lines, key).length, 2, 'two attempts');
    const finished = finishedOf(lines, key);
    assert.equal(finished.length, 2, 'exactly one step.finished per attempt');
    for (const f of finished) {
      assert.equal(f.ok, false);
      assert.equal(f.message, '2 error line(s), first: ERROR db down');
    }
    const report = buildReport(s);
    assert.equal(report.verification.failedChecks, 'Scan the log: 2 error line(s), first: ERROR db down');
    assert.match(renderMarkdown(report), /- \*\*Failed Checks\*\*: Scan the log: 2 error line\(s\), first: ERROR db down\n- \*\*Monitoring\*\*: Not run/);
  });

  it('a log scan that finds nothing passes with one result', async () => {
    const ws = workspace(planWithVerification(`    logs:\n      - name: Scan the log\n        run: printf 'all fine\\n'\n        errorPatterns: [ERROR]`));
    const r = await Release.start(ws.options());
    const s = await r.run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    const finished = finishedOf(journalLines(ws, r.runId), 'verification/logs.0');
    assert.deepEqual(
      finished.map((f) => [f.ok, f.message]),
      [[true, 'no line matches ERROR']],
    );
  });

  for (const c of [
    { name: 'answers 500', route: { status: 500 }, check: '', expect: /^HTTP 500, expected 200$/ },
    { name: 'is slower than maxLatency', route: { status: 200, delayMs: 400 }, check: '\n        maxLatency: 100ms', expect: /^took \d+ ms, limit 100 ms$/ },
    { name: 'refuses connections', route: undefined, check: '', expect: /^http:\/\/127\.0\.0\.1:\d+\/api\/orders: ECONNREFUSED$/ },
  ]) {
    it(`an HTTP check whose server ${c.name}: one failed result per attempt, and the Core API line says why`, async () => {
      const live = c.route ? await server({ '/api/orders': c.route }) : undefined;
      try {
        // Without a route: a free port nobody listens on, so the connection is refused.
        const base = live?.url ?? `http://127.0.0.1:${await freePort()}`;
        const ws = workspace(planWithVerification(`    http:\n      - name: Orders API\n        core: true\n        url: ${base}/api/orders${c.check}`));
        const r = await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'retry' }, { action: 'pause' }] }) }));
        const s = await r.run();
        assert.equal(s.status, 'paused');
        const lines = journalLines(ws, r.runId);
        assert.equal(startedOf(lines, 'verification/http.0').length, 2);
        const finished = finishedOf(lines, 'verification/http.0');
        assert.equal(finished.length, 2, 'exactly one step.finished per attempt');
        for (const f of finished) {
          assert.equal(f.ok, false);
          assert.match(String(f.message), c.expect);
        }
        const report = buildReport(s);
        assert.match(report.verification.coreApi, new RegExp(`^Failed \\(Orders API: ${c.expect.source.slice(1, -1)}\\)$`));
        assert.equal(report.verification.failedChecks, undefined, 'the core check is on its own line, not repeated');
      } finally {
        await live?.close();
      }
    });
  }
});

describe('the Core API line speaks for the core API check', function () {
  this.timeout(60_000);
  let srv: Awaited<ReturnType<typeof server>>;
  before(async () => {
    srv = await server({ '/nginx_status': { status: 200 }, '/api/orders': { status: 201 }, '/status': { status: 200 } });
  });
  after(() => srv.close());

  it('the check marked core: true, not whichever ran first', async () => {
    const ws = workspace(
      planWithVerification(
        `    http:\n      - name: nginx status\n        url: ${srv.url}/nginx_status\n      - name: Orders\n        core: true\n        url: ${srv.url}/api/orders\n        status: 201`,
      ),
    );
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(buildReport(s).verification.coreApi, '201 (as expected)');
  });

  it('unmarked: the first check whose name or URL says api; none: "Not marked", honestly', async () => {
    const named = workspace(
      planWithVerification(
        `    http:\n      - name: nginx status\n        url: ${srv.url}/nginx_status\n      - name: Orders\n        url: ${srv.url}/api/orders\n        status: 201`,
      ),
    );
    assert.equal(buildReport(await (await Release.start(named.options())).run()).verification.coreApi, '201 (as expected)');
    const none = workspace(planWithVerification(`    http:\n      - name: Status page\n        url: ${srv.url}/status`));
    assert.match(
      buildReport(await (await Release.start(none.options())).run()).verification.coreApi,
      /^Not marked \(no verification HTTP check has core: true/,
    );
  });

  it('a core check that exists but did not run is "Not run", never "No HTTP check in plan"', async () => {
    const http = `    http:\n      - name: Orders\n        core: true\n        url: ${srv.url}/api/orders\n        status: 201`;
    // Stopped inside Verification, before the check.
    const inside = workspace(planWithVerification(`    steps:\n      - name: smoke\n        run: exit 3\n${http}`));
    const a = await (await Release.start(inside.options())).run();
    assert.equal(a.status, 'paused');
    assert.equal(buildReport(a).verification.coreApi, 'Not run (release stopped before "Orders")');
    // Stopped before Verification.
    const before = workspace(planWithVerification(http, { deploy: `    steps:\n      - name: deploy\n        run: exit 9` }));
    const b = await (await Release.start(before.options())).run();
    assert.equal(b.status, 'paused');
    assert.equal(buildReport(b).verification.coreApi, 'Not run (release stopped before Verification)');
  });

  it('refuses two checks marked core, at the second', () => {
    const text = planWithVerification(
      `    http:\n      - name: A\n        core: true\n        url: http://127.0.0.1:1/a\n      - name: B\n        core: true\n        url: http://127.0.0.1:1/b`,
    );
    const r = parsePlan(text, 'plan.yaml');
    assert.ok(!r.ok);
    const line = text.split('\n').findIndex((l, i, all) => l.trim() === 'core: true' && all.slice(0, i).some((x) => x.trim() === 'core: true')) + 1;
    assert.deepEqual(
      r.problems.map((p) => [p.line, p.path, p.message]),
      [[line, 'phases.verification.http[1].core', 'only one HTTP check is the core API; http[0] already is']],
    );
  });
});

describe('the monitoring baseline is production before the release touched it', function () {
  this.timeout(90_000);
  const captured = `  window: 1s
  interval: 200ms
  baseline:
    capture: 600ms
  metrics:
    - id: health
      command: cat health.txt
      guard: { min: 1 }`;

  it('is captured first in the backup phase, before the backup reads production', async () => {
    const ws = workspace(smallPlan({ monitoring: captured }));
    const r = await Release.start(ws.options());
    const s = await r.run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    const lines = journalLines(ws, r.runId);
    const baseline = lines.findIndex((e) => e.type === 'baseline.captured');
    const backup = lines.findIndex((e) => e.type === 'step.started' && e.step === 'backup/0');
    assert.ok(baseline > 0 && baseline < backup, `baseline.captured at ${baseline}, the backup started at ${backup}`);
    assert.deepEqual(s.phases.find((p) => p.id === 'backup')!.steps, ['backup/baseline', 'backup/0']);
    assert.ok(!s.phases.find((p) => p.id === 'deploy')!.steps.some((k) => k.endsWith('baseline')));
  });

  it('without a backup phase, first in the deploy phase', async () => {
    const ws = workspace(smallPlan({ monitoring: captured }).replace(/ {2}backup:\n[\s\S]*?\n {2}migration:\n[\s\S]*?\n {2}deploy:/, '  deploy:'));
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(s.phases.find((p) => p.id === 'deploy')!.steps[0], 'deploy/baseline');
  });

  it('after kill -9 during the backup, resume does not capture it again', async () => {
    const slowBackup = smallPlan({ monitoring: captured }).replace(
      / {6}- name: backup\n {8}run: .*\n/,
      `      - name: backup\n        run: if [ -f fast ]; then cp state.txt backup.copy; else sleep 30; fi\n`,
    );
    const ws = workspace(slowBackup);
    const child = spawn('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { stdio: 'ignore' });
    const runs = path.join(ws.dir, '.release/runs');
    let journal = '';
    const started = await waitFor(() => {
      if (!fs.existsSync(runs)) return false;
      const [id] = fs.readdirSync(runs);
      journal = path.join(runs, id ?? '', 'journal.jsonl');
      return fs.existsSync(journal) && fs.readFileSync(journal, 'utf8').includes('"type":"step.running","step":"backup/0"');
    }, 30_000);
    assert.ok(started, 'the backup step started');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = fs.readFileSync(journal, 'utf8');
    assert.equal(before.match(/"type":"baseline.captured"/g)?.length, 1, 'the baseline was captured before the crash');
    fs.writeFileSync(path.join(ws.dir, 'fast'), '');
    const resumed = spawnSync('node', [CLI, 'resume', '--retry', '--yes', '--plan', ws.planFile], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
    const lines = fs
      .readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.filter((e) => e.type === 'baseline.captured').length, 1, 'captured once, for the whole release');
    assert.equal(startedOf(lines, 'backup/baseline').length, 1, 'the baseline step ran once');
    assert.equal(lines.at(-1).outcome, 'released');
  });
});

describe('monitoring that cannot judge says Inconclusive, never Normal', function () {
  this.timeout(60_000);

  it('a statistical rule against a fixed baseline: released (the guards held), Monitoring "Inconclusive (...)", with the window', async () => {
    const ws = workspace(
      smallPlan({
        monitoring: `  window: 1s\n  interval: 200ms\n  baseline:\n    fixed: { health: 1 }\n  metrics:\n    - id: health\n      command: cat health.txt\n      guard: { min: 1, mannWhitney: decrease }`,
      }),
    );
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.status, 'released', 'the guards held: the release stands');
    assert.equal(s.metrics.health.verdict?.verdict, 'inconclusive');
    const line = buildReport(s).verification.monitoring;
    assert.equal(
      line,
      'Inconclusive (health: Mann-Whitney needs a captured baseline of at least 10 points; the baseline is a fixed value from the plan; 1 s window, 1 metric)',
    );
    assert.doesNotMatch(line, /Normal/);
  });

  it('states the window used when every metric passed', async () => {
    const ws = workspace();
    const s = await (await Release.start(ws.options())).run();
    assert.equal(buildReport(s).verification.monitoring, 'Normal (1 s window, 1 metric)');
  });
});

describe('paused time is not phase time', function () {
  this.timeout(60_000);

  it('a phase paused on a failed step and resumed later counts only its running time', async () => {
    const ws = workspace(smallPlan({ deploy: `    steps:\n      - name: deploy\n        run: test -f fixed && echo "version 1.2.3" > deployed.txt` }));
    const first = await (await Release.start(ws.options())).run();
    assert.equal(first.status, 'paused');
    const PAUSE_MS = 1500;
    // Waits for the wall clock: the journal stamps each event with the real time (the engine's clock does not
    // reach it), and the paused time is read from those stamps.
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    fs.writeFileSync(path.join(ws.dir, 'fixed'), '');
    const again = await Release.reopen(ws.options({ decided: { 'deploy/0': { action: 'retry' } } }), first.runId);
    const s = await again.run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    const deploy = s.phases.find((p) => p.id === 'deploy')!;
    const wall = Date.parse(deploy.finishedAt!) - Date.parse(deploy.startedAt!);
    assert.ok(wall >= PAUSE_MS, `wall time ${wall} ms spans the pause`);
    assert.ok(deploy.pausedMs! >= PAUSE_MS - 50, `paused ${deploy.pausedMs} ms`);
    assert.equal(deploy.durationMs, wall - deploy.pausedMs!);
    assert.ok(deploy.durationMs < 1000, `running time ${deploy.durationMs} ms (two short attempts)`);
    // Phases that never paused are untouched.
    const config = s.phases.find((p) => p.id === 'config')!;
    assert.equal(config.pausedMs, undefined);
    assert.equal(config.durationMs, Date.parse(config.finishedAt!) - Date.parse(config.startedAt!));
  });
});

describe('a production plan with a short monitoring window warns', () => {
  const plan = (env: string, window: string, extra = '') =>
    smallPlan({
      monitoring: `  window: ${window}\n  interval: 1s\n  baseline:\n    fixed: { health: 1 }\n  metrics:\n    - id: health\n      command: cat health.txt\n      guard: { min: 1 }${extra}`,
      // Its migration's rollback says what it does to the data: the window is the plan's only warning.
      rollback: `    - name: back\n      run: rm -f deployed.txt\n  database:\n    strategy: code-only`,
    }).replace('environment: production', env);
  const cases: [string, string, string, boolean][] = [
    ['production, 45 s', 'environment: production', '45s', true],
    ['PRODUCTION, 14 min 59 s', 'environment: PRODUCTION', '899s', true],
    ['prod-eu, 2 s', 'environment: prod-eu', '2s', true],
    ['eu-prod, 10 min', 'environment: eu-prod', '10m', true],
    ['an explicit production flag on "live"', 'environment: live\n  production: true', '5m', true],
    ['production, exactly 15 min', 'environment: production', '15m', false],
    ['production, 30 min', 'environment: production', '30m', false],
    ['staging', 'environment: staging', '45s', false],
    ['preprod', 'environment: preprod', '45s', false],
    ['nonprod', 'environment: nonprod', '45s', false],
    ['products-sandbox', 'environment: products-sandbox', '45s', false],
    ['production flagged false', 'environment: production\n  production: false', '45s', false],
    ['production with a reason recorded', 'environment: production', '45s\n  shortWindowReason: a demo', false],
  ];
  for (const [name, env, window, warns] of cases) {
    it(`${name} → ${warns ? 'a warning' : 'no warning'}`, () => {
      const text = plan(env, window);
      const r = parsePlan(text, 'plan.yaml');
      assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
      if (!warns) return assert.deepEqual(r.warnings, []);
      assert.equal(r.warnings.length, 1);
      const w = r.warnings[0];
      const line = text.split('\n').findIndex((l) => l.startsWith('  window: ')) + 1;
      assert.deepEqual([w.severity, w.line, w.column, w.path], ['warning', line, 11, 'monitoring.window']);
      assert.match(
        formatProblem(w),
        /^plan\.yaml:\d+:11: warning: a monitoring window of .+ is shorter than the spec's minimum of 15 minutes \(15–30 min\); lengthen it, or record why under monitoring\.shortWindowReason \(at monitoring\.window\)$/,
      );
    });
  }

  it('validate prints the warning with its line and still exits 0', () => {
    const ws = workspace(plan('environment: production', '45s'));
    const r = spawnSync('node', [CLI, 'validate', '--plan', ws.planFile], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /plan\.yaml:\d+:11: warning: a monitoring window of 45 s on production is shorter than the spec's minimum of 15 minutes/);
    assert.match(r.stdout, /: valid \(/);
  });
});
