// npm run bench: what the product costs, as ratios against the work it orchestrates, measured in
// one process on this machine. Rewrites BENCHMARKS.md. Each timing is the median of several runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as http from 'node:http';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { Release } from '../src/core/engine/run/engine';
import { parsePlan } from '../src/core/plan/load';
import { Journal } from '../src/core/journal/journal';
import { StepRunner } from '../src/core/exec/runner';
import { SecretMasker } from '../src/core/exec/mask';
import { applyEvent, foldJournal, initialState } from '../src/core/model/releaseState';
import { Monitor } from '../src/core/monitor/monitor';
import { AccessLogSource } from '../src/core/monitor/accesslog-source';
import type { Clock } from '../src/core/base/clock';
import { Monitoring } from '../src/core/model/schema-monitoring';
import { changelogSince, generateChangelogs, type Entry } from '../src/core/report/changelog';
import { releaseTags } from '../src/core/git/release-tags';
import { decideVerdict } from '../src/core/engine/gates/acceptanceVerdict';
import { parseMessage } from '../src/core/report/conventional';
import type { ReleaseEvent } from '../src/core/model/events';
import { TestPrometheus, TestService } from '../test/support/traffic';
import { scripted, smallPlan } from '../test/support/fixtures';
import { startOnManyRuns } from './startReads';
import { activationLoad } from './activationLoad';
import { dbRollbackFigures } from './dbRollback';

const ROOT = path.resolve(__dirname, '..', '..');
const QUICK = process.argv.includes('--quick');
const rows: { figure: string; value: string; goal: string; baseline: string; met?: boolean }[] = [];
const log = (m: string) => console.log(`[bench] ${m}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 0)} ms`;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'rp-bench-'));

function workspace(planText: string): { dir: string; planFile: string; plan: ReturnType<typeof parsePlan> } {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, '.release'), { recursive: true });
  const planFile = path.join(dir, '.release', 'plan.yaml');
  fs.writeFileSync(planFile, planText);
  for (const [k, v] of Object.entries({ 'verdict.txt': 'Ready for Launch\n', 'migrations/001.sql': 'x', 'state.txt': 'v1\n', 'health.txt': '1\n' })) {
    fs.mkdirSync(path.dirname(path.join(dir, k)), { recursive: true });
    fs.writeFileSync(path.join(dir, k), v);
  }
  return { dir, planFile, plan: parsePlan(planText, planFile) };
}

async function runRelease(planText: string, extra: Record<string, unknown> = {}) {
  const ws = workspace(planText);
  if (!ws.plan.ok) throw new Error(ws.plan.problems.map((p) => p.message).join('\n'));
  const r = await Release.start({
    planFile: ws.planFile,
    plan: ws.plan.plan,
    planText,
    workspace: ws.dir,
    prompter: scripted(),
    user: 'bench',
    holder: 'bench',
    ...extra,
  });
  const s = await r.run();
  return { s, ws, runId: r.runId };
}

async function runnerOverhead() {
  const N = QUICK ? 3 : 5;
  const bare: number[] = [];
  const engine: number[] = [];
  const dir = tmp();
  const masker = new SecretMasker([]);
  const runner = new StepRunner(masker);
  for (let i = 0; i < N; i++) {
    let t = performance.now();
    spawnSync('bash', ['--norc', '-c', 'sleep 1']);
    bare.push(performance.now() - t);
    // The engine's path for one step: journal the start (fsync), run through execa with logging and
    // masking, journal the end (fsync).
    const j = new Journal(path.join(dir, `j${i}.jsonl`));
    t = performance.now();
    j.append({ type: 'step.started', phase: 'deploy', step: 's', name: 's', command: 'sleep 1', log: 'l' });
    const r = await runner.run({ command: 'sleep 1', cwd: dir, env: process.env, timeoutMs: 10_000, logFile: path.join(dir, `l${i}`) }).result;
    j.append({
      type: 'step.finished',
      step: 's',
      exitCode: r.exitCode,
      signal: null,
      durationMs: r.durationMs,
      timedOut: false,
      cancelled: false,
      tail: r.tail,
      ok: true,
      message: 'ok',
    });
    engine.push(performance.now() - t);
    j.close();
  }
  const ratio = median(engine) / median(bare);
  rows.push({
    figure: 'A 1 s step through the engine vs bare bash',
    value: `${ms(median(engine))} vs ${ms(median(bare))} (ratio ${ratio.toFixed(3)})`,
    goal: 'ratio ≤ 1.05',
    baseline: '`bash -c "sleep 1"` (spawnSync)',
    met: ratio <= 1.05,
  });

  const steps = Array.from({ length: 50 }, (_, i) => `      - name: s${i}\n        run: "true"`).join('\n');
  const plan = smallPlan({ checklist: '  []', acceptance: 'file: verdict.txt' }).replace(
    / {2}preparation:\n {4}steps:\n {6}- name: prepare\n {8}run: echo preparing > prepared.txt/,
    `  preparation:\n    steps:\n${steps}`,
  );
  const eng: number[] = [];
  const loop: number[] = [];
  for (let i = 0; i < N; i++) {
    const { s } = await runRelease(plan);
    const p = s.phases.find((x) => x.id === 'preparation')!;
    eng.push(p.durationMs!);
    const t = performance.now();
    for (let k = 0; k < 50; k++) spawnSync('bash', ['--norc', '-c', 'true']);
    loop.push(performance.now() - t);
  }
  const r50 = median(eng) / median(loop);
  rows.push({
    figure: '50 trivial steps (`true`) through the engine, with journal fsyncs',
    value: `${ms(median(eng))} vs ${ms(median(loop))} (ratio ${r50.toFixed(2)}; ${ms((median(eng) - median(loop)) / 50)} overhead per step)`,
    goal: 'ratio ≤ 2',
    baseline: '50 × `bash -c true` (spawnSync)',
    met: r50 <= 2,
  });
}

/** 16 targets in batches of 4, each step 1 s: the batches' targets side by side, against the ideal 4 s. */
async function rollingBatches() {
  const N = QUICK ? 1 : 3;
  const targets = Array.from({ length: 16 }, (_, i) => `web-${i + 1}`);
  const deploy = `    strategy: rolling
    rolling:
      targets: [${targets.join(', ')}]
      maxUnavailable: 4
      steps:
        - name: update
          run: sleep 1 && echo 1.2.3 > deployed.txt
      healthCheck:
        run: "true"
        retries: 0`;
  const took: number[] = [];
  const ideal: number[] = [];
  for (let i = 0; i < N; i++) {
    const { s } = await runRelease(smallPlan({ deploy }));
    if (s.status !== 'released') throw new Error(`rolling bench: ${s.status} ${s.outcomeMessage}`);
    took.push(s.phases.find((p) => p.id === 'deploy')!.durationMs!);
    // The same work without the product: 4 batches of 4 parallel `sleep 1`, one batch after the other.
    const t = performance.now();
    for (let b = 0; b < 4; b++) await Promise.all(Array.from({ length: 4 }, () => new Promise((r) => execFile('bash', ['--norc', '-c', 'sleep 1'], r))));
    ideal.push(performance.now() - t);
  }
  const ratio = median(took) / 4000;
  rows.push({
    figure: 'Rolling deploy: 16 targets in batches of 4, a 1 s step each, health checks included',
    value: `${ms(median(took))} (ratio ${ratio.toFixed(2)} to the ideal 4 s; bare bash batches: ${ms(median(ideal))})`,
    goal: '≤ 1.3 × the ideal 4 s',
    baseline: 'the ideal: 4 batches × 1 s',
    met: ratio <= 1.3,
  });
}

/** A canary whose errors appear at its first weight (10 %): from the weight set to the rollback's weight 0. */
async function canaryAbort() {
  const N = QUICK ? 2 : 5;
  const deploy = `    strategy: canary
    canary:
      deploy:
        - run: echo 1.2.3 > canary.txt
      setWeight:
        - run: echo \${canary.weight} > weight.txt && echo 0.3 > errors.txt
      weights: [10, 50, 100]
      analysis: 30s`;
  const monitoring = `  window: 30s
  interval: 1s
  failureLimit: 1
  baseline:
    fixed: { errors: 0 }
  metrics:
    - id: errors
      command: cat errors.txt
      guard: { max: 0.05 }`;
  const rollback = `    - name: canary weight 0
      run: echo 0 > weight.txt`;
  const lat: number[] = [];
  for (let i = 0; i < N; i++) {
    let set = 0;
    let zero = 0;
    const onEvent = (e: ReleaseEvent) => {
      if (e.type === 'step.finished' && e.step === 'deploy/canary.1.set.0') set = Date.parse(e.at);
      if (e.type === 'step.finished' && e.step.startsWith('rollback/')) zero ||= Date.parse(e.at);
    };
    const ws = workspace(smallPlan({ deploy, monitoring, rollback }));
    fs.writeFileSync(path.join(ws.dir, 'errors.txt'), '0\n');
    if (!ws.plan.ok) throw new Error(ws.plan.problems.map((p) => p.message).join('\n'));
    const r = await Release.start({
      planFile: ws.planFile,
      plan: ws.plan.plan,
      planText: fs.readFileSync(ws.planFile, 'utf8'),
      workspace: ws.dir,
      prompter: scripted(),
      user: 'bench',
      holder: 'bench',
      onEvent,
    });
    const s = await r.run();
    if (s.status !== 'rolled-back' || !set || !zero) throw new Error(`canary bench: ${s.status} ${s.outcomeMessage}`);
    lat.push(zero - set);
  }
  const p95 = pct(lat, 95);
  rows.push({
    figure: `Canary breach at 10 %: errors start (weight set) → rollback has set weight 0, 1 s sampling (${lat.length} runs)`,
    value: `p50 ${ms(median(lat))}, p95 ${ms(p95)}`,
    goal: '≤ one interval + 1 s (2000 ms)',
    baseline: 'the sampling interval (1000 ms)',
    met: p95 <= 2000,
  });
}

async function rollbackLatency() {
  const svc = await new TestService().start();
  svc.traffic(40);
  const prom = await new TestPrometheus().start(`127.0.0.1:${svc.port}`);
  const ERR = '(sum(rate(http_requests_total{code=~"5.."}[4s])) or vector(0)) / sum(rate(http_requests_total[4s]))';
  await prom.waitForValue('sum(rate(http_requests_total[4s]))');
  const lat: number[] = [];
  const N = QUICK ? 4 : 12;
  try {
    for (let i = 0; i < N; i++) {
      svc.errorRate = 0;
      const plan = smallPlan({
        monitoring: `  window: 30s\n  interval: 1s\n  failureLimit: 1\n  baseline:\n    fixed: { errors: 0 }\n  metrics:\n    - id: errors\n      prometheus:\n        url: ${prom.url}\n        query: '${ERR}'\n      guard: { max: 0.05 }`,
      });
      const { s } = await runRelease(plan, { onEvent: (e: ReleaseEvent) => e.type === 'phase.started' && e.phase === 'monitoring' && (svc.errorRate = 0.5) });
      if (s.rollback) lat.push(s.rollback.latencyMs);
    }
  } finally {
    prom.stop();
    await svc.stop();
  }
  const p95 = pct(lat, 95);
  rows.push({
    figure: `Guard breach confirmed → first rollback command, 1 s sampling, real Prometheus (${lat.length} runs)`,
    value: `p50 ${ms(median(lat))}, p95 ${ms(p95)}`,
    goal: '≤ one interval + 100 ms (1100 ms)',
    baseline: 'the sampling interval (1000 ms)',
    met: p95 <= 1100,
  });
}

function extensionCost() {
  // --tests: the integration suite that measures activation below is built with the production bundles.
  execFileSync(process.execPath, ['esbuild.mjs', '--production', '--tests'], { cwd: ROOT });
  // Activation, measured inside the real VS Code host by the integration suite, with the bundles it
  // found loaded when activate() returned.
  const r = spawnSync(process.execPath, ['test/host/run.mjs', '--version', 'min', '--integration'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env } });
  const m = /activate\(\) took ([\d.]+) ms with (\S+(?:, \S+)*) loaded; the plan and newest run read just after in ([\d.]+) ms/.exec(r.stdout);
  if (!m) log(`the VS Code host did not report activation:\n${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-20).join('\n')}`);
  const loadedAtActivation = m ? m[2].split(', ') : undefined;
  const what: Record<string, string> = {
    'extension.js': ' (loaded at activation)',
    'core.js': ' (plan, fold, report: loaded just after activation, on the first plan read)',
    'engine.js': ' (loaded on the first command that runs something)',
  };
  for (const f of ['extension.js', 'core.js', 'engine.js', 'cli.js', 'webview.js']) {
    const buf = fs.readFileSync(path.join(ROOT, 'dist', f));
    const gz = zlib.gzipSync(buf).length;
    rows.push({
      figure: `Bundle dist/${f}${what[f] ?? ''} (production)`,
      value: `${(buf.length / 1024).toFixed(0)} KB raw, ${(gz / 1024).toFixed(0)} KB gzip`,
      goal: '—',
      baseline: '—',
    });
  }
  const atActivation = (loadedAtActivation ?? []).reduce((n, f) => n + fs.statSync(path.join(ROOT, 'dist', f)).size, 0);
  rows.push({
    figure: `Bundles loaded when activate() returned (${loadedAtActivation?.join(' + ') ?? 'not measured'}, production, as the host reported)`,
    value: loadedAtActivation ? `${(atActivation / 1024).toFixed(0)} KB` : `not measured (host exit ${r.status})`,
    goal: '≤ 300 KB',
    baseline: '—',
    met: loadedAtActivation !== undefined && atActivation <= 300 * 1024,
  });
  const out = path.join(ROOT, '.test-host', 'bench.vsix');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', out],
    { cwd: ROOT, stdio: 'ignore' },
  );
  rows.push({
    figure: 'Packaged .vsix',
    value: `${(fs.statSync(out).size / 1024).toFixed(0)} KB`,
    goal: '< 2 MB',
    baseline: '—',
    met: fs.statSync(out).size < 2 * 1024 * 1024,
  });
  rows.push({
    figure: 'activate() in the real VS Code host (1.100)',
    value: m ? `${m[1]} ms` : `not measured (host exit ${r.status})`,
    goal: '≤ 30 ms',
    baseline: '—',
    met: m ? Number(m[1]) <= 30 : false,
  });
  rows.push({
    figure: 'The plan and newest run read just after activation (core.js loaded, YAML parsed, validated, journal folded), 1.100',
    value: m ? `${m[3]} ms` : `not measured (host exit ${r.status})`,
    goal: '—',
    baseline: '—',
  });
}

/** The bundles the host loads at activation and by the first plan read, three bundles against two (of the production build). */
function layoutCost() {
  execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: ROOT });
  const { three, two, lazy } = activationLoad(ROOT, QUICK ? 5 : 21);
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
  const row = (what: string, l: typeof three) =>
    `${what}: activation ${ms(l.activationMs)} (${kb(l.activationBytes)}), plan readable ${ms(l.readyMs)} (${kb(l.readyBytes)})`;
  rows.push({
    figure: 'Bundles required at activation and by the first plan read, fresh Node process each (load only, not activate())',
    value: [
      row('three bundles', three),
      `${row('two, core in extension.js', two)}; ratio ${(two.activationMs / three.activationMs).toFixed(2)} at activation, ${(two.readyMs / three.readyMs).toFixed(2)} to the plan`,
      `${row('two, core in the engine bundle', lazy)}; ratio ${(lazy.activationMs / three.activationMs).toFixed(2)}, ${(lazy.readyMs / three.readyMs).toFixed(2)}`,
    ].join('<br>'),
    goal: 'activation ≤ 30 ms with the plan read soon after',
    baseline: 'three bundles (today’s layout)',
  });
}

async function monitoringScale() {
  // 20 metrics at 1 Hz for 30 minutes on a simulated clock: every sample is real (HTTP to a local
  // server), journaled with fsync and folded, as in a release; only the waiting is skipped.
  const server = http.createServer((_req, res) => res.end(JSON.stringify({ v: 1 + Math.random() * 0.01 })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const minutes = QUICK ? 3 : 30;
  const cfg = Monitoring.parse({
    window: `${minutes}m`,
    interval: '1s',
    baseline: { fixed: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`m${i}`, 1])) },
    metrics: Array.from({ length: 20 }, (_, i) => ({ id: `m${i}`, http: { url, field: 'v' }, guard: { max: 10, risePercent: 500 } })),
  });
  let now = Date.now();
  const clock: Clock = { now: () => now, sleep: async (d) => void (now += Math.max(0, d)) };
  const dir = tmp();
  const journal = new Journal(path.join(dir, 'journal.jsonl'), () => new Date(now));
  const state = initialState();
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let samples = 0;
  const m = new Monitor(cfg, (x) => x, dir, {
    append: (e) => {
      const full = journal.append(e);
      applyEvent(state, full);
      if (e.type === 'metric.sample') samples++;
    },
    clock,
    signal: new AbortController().signal,
  });
  await m.captureBaseline();
  const out = await m.watch();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  global.gc?.();
  const heap = process.memoryUsage().heapUsed - heap0;
  journal.close();
  server.close();
  if (!out.ok) throw new Error('the scale run breached');
  rows.push({
    figure: `Monitoring 20 metrics at 1 Hz for ${minutes} min (${samples} samples, simulated clock)`,
    value: `engine heap +${(heap / 1024 / 1024).toFixed(1)} MB; ${((cpu.user + cpu.system) / 1000 / samples).toFixed(3)} ms CPU per sample (incl. HTTP, fsync, fold); ${(wall / 1000).toFixed(1)} s wall`,
    goal: '≤ 50 MB growth',
    baseline: '—',
    met: heap <= 50 * 1024 * 1024,
  });
}

async function webviewApply() {
  // The real panel bundle in Chromium: a 20-metric, 30-minute snapshot, then 1 Hz updates.
  const { chromium } = await import('playwright-core');
  execFileSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT });
  const dir = tmp();
  const browser = await chromium.launchPersistentContext(path.join(dir, 'chromium'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    env: { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'x'), XDG_CACHE_HOME: path.join(dir, 'y') },
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const html = `<!DOCTYPE html><html><head><style>${fs.readFileSync(path.join(ROOT, 'dist', 'webview.css'), 'utf8')}</style></head><body>
      <header><h1 id="release-title"></h1><div id="status"></div><nav><button id="tab-monitor"></button><button id="tab-report"></button><button id="tab-compare" hidden></button></nav><div id="countdown"></div><button id="rollback"></button></header>
      <main><section id="monitor"><table id="metrics-table"><tbody></tbody></table><div id="charts"></div></section><section id="compare" hidden><h2 id="compare-title"></h2><div id="compare-runs"></div><div id="compare-changelog"></div></section><section id="report"><div class="actions"><button id="open-md"></button><button id="copy"></button></div><div id="report-body"></div></section></main>
      <script>window.__applied=[];window.acquireVsCodeApi=()=>({postMessage:(m)=>{if(m.type==='applied')window.__applied.push(m.ms)},setState(){},getState(){}});</script></body></html>`;
    await page.setContent(html);
    await page.addScriptTag({ path: path.join(ROOT, 'dist', 'webview.js') });
    const t0 = Date.now() / 1000 - 1800;
    const metrics = Array.from({ length: 20 }, (_, i) => ({
      id: `m${i}`,
      title: `metric ${i}`,
      unit: 'req/s',
      baseline: { mean: 1, stdev: 0.1 },
      thresholds: [{ label: 'max 10', value: 10 }],
      guard: 'max 10',
      points: Array.from({ length: 600 }, (_, k) => [t0 + k * 3, 1 + Math.sin(k / 10) * 0.1]),
      breaches: [],
      last: { value: 1, status: 'ok' },
      verdict: null,
    }));
    const snapshot = {
      title: 'bench',
      status: 'running',
      monitoring: { startedAt: t0 * 1000, endsAt: (t0 + 1800) * 1000, finishedAt: null },
      rollbackUntil: null,
      metrics,
      markers: [],
      report: null,
      comparison: null,
      tab: 'monitor',
    };
    await page.evaluate((s) => window.postMessage({ type: 'snapshot', snapshot: s }, '*'), snapshot);
    const N = 30;
    for (let k = 0; k < N; k++) {
      const values = Object.fromEntries(metrics.map((m) => [m.id, { value: 1 + Math.random() * 0.1, status: 'ok' }]));
      await page.evaluate((m) => window.postMessage(m, '*'), { type: 'samples', at: t0 + 1800 + k, values });
      await page.waitForTimeout(20);
    }
    await page.waitForFunction((n) => (window as unknown as { __applied: number[] }).__applied.length >= n + 1, N);
    const applied: number[] = await page.evaluate(() => (window as unknown as { __applied: number[] }).__applied);
    const updates = applied.slice(1);
    rows.push({
      figure: 'Panel: apply one 1 Hz update of 20 metrics × 600 points (Chromium, real bundle)',
      value: `median ${ms(median(updates))}, p95 ${ms(pct(updates, 95))}; full snapshot ${ms(applied[0])}`,
      goal: '< 16 ms (one frame)',
      baseline: '—',
      met: pct(updates, 95) < 16,
    });
  } finally {
    await browser.close();
  }
}

async function journalCost() {
  const dir = tmp();
  const file = path.join(dir, 'journal.jsonl');
  const j = new Journal(file);
  const N = QUICK ? 500 : 2000;
  const t = performance.now();
  for (let i = 0; i < N; i++) j.append({ type: 'metric.sample', metric: `m${i % 20}`, value: i, status: 'ok' });
  const appendMs = performance.now() - t;
  j.close();
  rows.push({
    figure: 'Journal append with fsync',
    value: `${Math.round(N / (appendMs / 1000))} events/s (${ms(appendMs / N)} each)`,
    goal: '—',
    baseline: '—',
  });
  const events: ReleaseEvent[] = [
    {
      at: new Date().toISOString(),
      type: 'release.started',
      runId: 'r',
      plan: 'p',
      name: 'n',
      version: '1.0.0',
      environment: 'e',
      user: 'u',
      host: 'h',
      pid: 1,
      planHash: 'x',
    },
  ];
  for (let i = 1; i < 100_000; i++)
    events.push({ at: new Date(1_800_000_000_000 + i * 50).toISOString(), type: 'metric.sample', metric: `m${i % 20}`, value: i, status: 'ok' });
  const times: number[] = [];
  global.gc?.();
  const h0 = process.memoryUsage().heapUsed;
  let keep;
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    keep = foldJournal(events);
    times.push(performance.now() - t0);
  }
  const heap = process.memoryUsage().heapUsed - h0;
  rows.push({
    figure: 'Fold of a 100,000-event journal',
    value: `${ms(median(times))}, state ${(heap / 1024 / 1024).toFixed(0)} MB heap`,
    goal: '—',
    baseline: '—',
  });
  void keep;
}

async function changelogCost() {
  const dir = tmp();
  const N = QUICK ? 1000 : 10_000;
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  // A fast-import stream: N commits, a quarter feat, a quarter fix, the rest chore/docs/perf/plain.
  const kinds = [
    'feat(api): add endpoint',
    'fix(ui): repair widget',
    'chore: tidy',
    'perf: faster query',
    'docs: explain',
    'update something by hand',
    'feat(core): new option',
    'fix: crash on empty input',
  ];
  let stream = '';
  const when = 1_700_000_000;
  for (let i = 0; i < N; i++) {
    const msg = `${kinds[i % kinds.length]} ${i}\n`;
    stream += `commit refs/heads/main\nmark :${i + 1}\ncommitter Bench <b@example.com> ${when + i} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}${i ? `from :${i}\n` : ''}M 644 inline f.txt\ndata ${String(i).length}\n${i}\n\n`;
    if (i === 0) stream += `reset refs/tags/v1.0.0\nfrom :1\n\n`;
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: stream });
  execFileSync('git', ['checkout', '-q', 'main'], { cwd: dir });
  const ours: number[] = [];
  let cl;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    cl = await changelogSince(dir);
    ours.push(performance.now() - t);
  }
  const theirs: number[] = [];
  let out = '';
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    out = execFileSync(path.join(ROOT, 'node_modules', '.bin', 'conventional-changelog'), ['-p', 'angular'], {
      cwd: dir,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    theirs.push(performance.now() - t);
  }
  const ratio = median(ours) / median(theirs);
  if (!cl) throw new Error('the changelog was not generated');
  // Entries both tools list: features and fixes.
  const theirFeat = (out.split('### Features')[1] ?? '')
    .split('###')[0]
    .split('\n')
    .filter((l) => l.startsWith('* ')).length;
  const theirFix = (out.split('### Bug Fixes')[1] ?? '')
    .split('###')[0]
    .split('\n')
    .filter((l) => l.startsWith('* ')).length;
  const ourFeat = cl.sections.Added.length;
  const ourFix = cl.sections.Fixed.length;
  const hidden = Object.values(cl.omitted.hidden).reduce((a, b) => a + b, 0);
  rows.push({
    figure: `Changelog of ${N.toLocaleString('en')} generated Conventional Commits`,
    value: `${ms(median(ours))} vs ${ms(median(theirs))} (ratio ${ratio.toFixed(2)}); features ${ourFeat} vs ${theirFeat}, fixes ${ourFix} vs ${theirFix}; perf ${cl.sections.Changed.length} listed as Changed (reference: ${headingCount(out, 'Performance Improvements')}); ${hidden} hidden-type and ${cl.omitted.nonConventional} non-conventional commits counted, not listed`,
    goal: 'same feat/fix entries, faster than the reference',
    baseline: '`conventional-changelog -p angular` (npm conventional-changelog-cli 5)',
    met: ourFeat === theirFeat && ourFix === theirFix && ratio < 1,
  });
}

/** Bullets under one `### Heading` of conventional-changelog's output, over every release in it. */
function headingCount(md: string, heading: string): number {
  return headingBullets(md, heading).length;
}

/** The text of those bullets, without the bullet and the bold scope (`* **async:** text` → `text`). */
function headingBullets(md: string, heading: string): string[] {
  const bullets: string[] = [];
  let inside = false;
  for (const line of md.split('\n')) {
    if (/^#{1,3} /.test(line)) inside = line === `### ${heading}`;
    else if (inside && line.startsWith('* ')) bullets.push(line.slice(2).replace(/^\*\*[^*]+:\*\* /, ''));
  }
  return bullets;
}

/**
 * The whole changelog of a real history (test/fixtures/history/yargs.fi, 222 commits, yargs
 * v14.2.0..v17.1.0): one section per stable release, as `conventional-changelog -r 0 --skip-unstable` writes.
 */
async function realHistoryChangelog() {
  const dir = tmp();
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'history', 'yargs.fi')) });
  execFileSync('git', ['checkout', '-q', '-f', 'v17.1.0'], { cwd: dir });
  const releases = (await releaseTags(dir, 'v', 'HEAD')).filter((t) => !t.prerelease);
  const ours: number[] = [];
  let entries: Entry[] = [];
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    entries = (
      await generateChangelogs(
        dir,
        releases.map((r) => r.name),
      )
    ).flatMap((cl) => cl.entries);
    ours.push(performance.now() - t);
  }
  const theirs: number[] = [];
  let out = '';
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    out = execFileSync(path.join(ROOT, 'node_modules', '.bin', 'conventional-changelog'), ['-p', 'angular', '-r', '0', '--skip-unstable'], {
      cwd: dir,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    theirs.push(performance.now() - t);
  }
  const ratio = median(ours) / median(theirs);
  const count = (pred: (e: Entry) => boolean) => entries.filter(pred).length;
  const theirSections = (out.match(/^#{1,2} \[?\d/gm) ?? []).length;
  const c = {
    feat: [count((e) => e.type === 'feat'), headingCount(out, 'Features')],
    fix: [count((e) => e.type === 'fix'), headingCount(out, 'Bug Fixes')],
    breaking: [count((e) => e.breaking), headingCount(out, 'BREAKING CHANGES')],
    notes: [entries.reduce((n, e) => n + e.notes.length, 0), headingCount(out, 'BREAKING CHANGES')],
    // The reference splits a note that holds a list into one bullet per item; ours keeps the note whole.
    notesCovered: [
      headingBullets(out, 'BREAKING CHANGES').filter((b) => entries.some((e) => e.notes.some((n) => n.includes(b)) || e.text.includes(b))).length,
      headingCount(out, 'BREAKING CHANGES'),
    ],
    reverts: [count((e) => e.type === 'revert'), headingCount(out, 'Reverts')],
  };
  rows.push({
    figure: `Changelog of a real history (yargs v14.2.0..v17.1.0: 222 commits, ${releases.length} stable releases)`,
    value: `${ms(median(ours))} vs ${ms(median(theirs))} (ratio ${ratio.toFixed(2)}); sections ${releases.length} vs ${theirSections}; features ${c.feat[0]} vs ${c.feat[1]}, fixes ${c.fix[0]} vs ${c.fix[1]}, breaking entries ${c.breaking[0]} (notes ${c.notes[0]}, holding ${c.notesCovered[0]} of the reference's ${c.notesCovered[1]} breaking bullets word for word) vs breaking bullets ${c.breaking[1]}, reverts listed ${c.reverts[0]} vs ${c.reverts[1]}`,
    goal: 'every feature, fix and breaking note of the reference; faster than the reference',
    baseline: '`conventional-changelog -p angular -r 0 --skip-unstable` (npm conventional-changelog-cli 5)',
    met: c.feat[0] >= c.feat[1] && c.fix[0] >= c.fix[1] && c.notesCovered[0] === c.notesCovered[1] && ratio < 1,
  });
}

/** One access-log sample after a burst appended between two samples: the default cap against no cap. */
async function accessLogBurst() {
  const mib = QUICK ? 256 : 1024;
  const dir = tmp();
  const file = path.join(dir, 'access.log');
  const lineText = '127.0.0.1 - - [05/Dec/2026:13:00:00 +0000] "GET /api/items HTTP/1.1" 200 512 "-" "bench" 0.004\n';
  const chunk = Buffer.from(lineText.repeat(Math.floor((1024 * 1024) / lineText.length)));
  const settings = { format: 'combined', statistic: 'errorRatio', errorStatus: ['5xx'], statusField: 'status', requestTimeField: 'request_time' } as const;
  const time = async (maxReadMiB?: number) => {
    fs.writeFileSync(file, '');
    const s = new AccessLogSource(file, { ...settings, errorStatus: [...settings.errorStatus], maxReadMiB });
    await s.sample();
    const fd = fs.openSync(file, 'a');
    for (let i = 0; i < mib; i++) fs.writeSync(fd, chunk);
    fs.closeSync(fd);
    const t = performance.now();
    const r = await s.sample();
    const took = performance.now() - t;
    await s.close();
    return { took, message: r.message ?? '' };
  };
  const capped = await time();
  const whole = await time(8192 / 2);
  fs.rmSync(dir, { recursive: true, force: true });
  rows.push({
    figure: `Access log: one sample after a ${mib} MiB append`,
    value: `${ms(capped.took)} with the default cap (${/based on the newest ([\d.]+ MiB)/.exec(capped.message)?.[1] ?? 'all'} read), ${ms(whole.took)} reading it all (one run each)`,
    goal: 'a sample reads at most maxReadMiB (128 MiB by default), whatever was appended',
    baseline: 'the same sample with maxReadMiB 4096 (every byte read)',
    met: capped.took < whole.took,
  });
}

/**
 * Texts the product reads whole, at sizes a person could paste: a 1 MB acceptance document for the
 * verdict and a 2 MB commit message for the changelog. Linear work; the goals flag a quadratic turn.
 */
function parsingCost() {
  const runs = QUICK ? 3 : 7;
  const timed = (work: () => unknown) =>
    median(
      Array.from({ length: runs }, () => {
        const t0 = performance.now();
        work();
        return performance.now() - t0;
      }),
    );
  const doc = `${'QA notes: all 1200 tests passed on staging.\n'.repeat(Math.ceil((1024 * 1024) / 44))}Ready for Launch`;
  const verdict = timed(() => {
    if (!decideVerdict(doc, 'Ready for Launch').ok) throw new Error('the 1 MB verdict was not decided as go');
  });
  rows.push({
    figure: 'Acceptance verdict of a 1 MB document (the phrase on its last line)',
    value: ms(verdict),
    goal: '≤ 5 s (linear in lines; more means a quadratic turn)',
    baseline: '—',
    met: verdict <= 5000,
  });
  const message = `feat: big\n\nBREAKING CHANGE: ${'x '.repeat(1_000_000)}`;
  const parse = timed(() => {
    if (parseMessage(message).notes.length !== 1) throw new Error('the 2 MB message lost its breaking note');
  });
  rows.push({
    figure: 'Conventional Commit message of 2 MB parsed (one breaking note)',
    value: ms(parse),
    goal: '< 1 s',
    baseline: '—',
    met: parse < 1000,
  });
}

async function startCost() {
  const f = await startOnManyRuns(300, QUICK ? 3 : 7);
  rows.push({
    figure: `A release start on a workspace with ${f.runs} earlier runs (refusals, lock, journal opened; ${f.samples} starts)`,
    value: `${ms(f.startMs)}; one read of every journal ${ms(f.readMs)} (the start costs ${(f.startMs / f.readMs).toFixed(1)} reads)`,
    goal: 'one read of the runs per start',
    baseline: 'one read and fold of every journal of the workspace',
  });
}

async function dbRollback() {
  for (const f of await dbRollbackFigures(QUICK ? 1 : 3)) {
    const said = /carried forward: (\d+); kept in [^:]+: (\d+)/.exec(f.said);
    const what = said
      ? ` (${said[1]} rows carried forward, ${said[2]} kept in the file)`
      : /discarded/.test(f.said)
        ? ' (the writes since the backup discarded)'
        : '';
    rows.push({
      figure: `Rollback, database ${f.strategy}: ${f.engine}, 10,000 rows, 100 written since the backup (${f.samples} runs)`,
      value: `${ms(f.ms)}${what}`,
      goal: '—',
      baseline: '—',
    });
  }
}

async function main() {
  const t0 = Date.now();
  const parts: [string, () => Promise<void> | void][] = [
    ['runner overhead', runnerOverhead],
    ['journal', journalCost],
    ['monitoring scale', monitoringScale],
    ['access log burst', accessLogBurst],
    ['panel updates', webviewApply],
    ['rollback latency', rollbackLatency],
    ['rolling batches', rollingBatches],
    ['canary abort', canaryAbort],
    ['changelog', changelogCost],
    ['changelog of a real history', realHistoryChangelog],
    ['parsing', parsingCost],
    ['start on many runs', startCost],
    ['database rollback', dbRollback],
    ['extension cost', extensionCost],
    ['bundle layouts', layoutCost],
  ];
  // --only=changelog runs the parts whose name contains the word (figures for one area, BENCHMARKS.md left as it is).
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  for (const [name, fn] of parts) {
    if (only && !name.includes(only)) continue;
    log(`${name}…`);
    const t = Date.now();
    await fn();
    log(`${name}: ${Math.round((Date.now() - t) / 1000)} s`);
  }
  const cpu = os.cpus();
  const md = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${Math.round((Date.now() - t0) / 1000)} s.`,
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`,
    'Timings are medians of several runs; ratios compare against a baseline doing the same work without the product, in the same process.',
    '',
    '| Figure | Value | Goal | Baseline | Goal met |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${r.value} | ${r.goal} | ${r.baseline} | ${r.met === undefined ? '—' : r.met ? 'yes' : '**no**'} |`),
    '',
  ].join('\n');
  if (!QUICK && !only) fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), `${md}\n${fs.readFileSync(path.join(ROOT, 'bench', 'NOTES.md'), 'utf8')}`);
  console.log(md);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
