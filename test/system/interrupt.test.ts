import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Release } from '../../src/core/engine/run/engine';
import type { ReleaseEvent } from '../../src/core/model/events';
import { ROOT, tempDir, write } from '../support/helpers';
import { processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { startServer } from '../support/server';
import { scripted, smallPlan, workspace, type Workspace } from '../support/fixtures';

/**
 * A rollback request or a stop ends whatever the release waits on: each kind of wait below is
 * long (30 s), the request comes while the release is in it, and the rollback (or the pause) must
 * be journaled within the bar. The bar is 1 s; the assertion allows 1.5 s for a loaded machine.
 */
const BAR_MS = 1500;
const CLI = path.join(ROOT, 'dist', 'cli.js');
const gitConfig = write(tempDir('rp-gitcfg-'), 'gitconfig', '[user]\n\tname = Ada Operator\n\temail = ada@example.com\n');
const ENV = { ...process.env, USER: 'cli-user', GIT_CONFIG_GLOBAL: gitConfig };

/** A server that answers 503 to everything and counts what it answered. */
async function failingServer() {
  let answered = 0;
  const srv = await startServer((_req, res) => {
    res.statusCode = 503;
    res.end('warming up', () => answered++);
  });
  return { url: srv.url, answered: () => answered, close: srv.close };
}

const exists = (ws: Workspace, ...files: string[]) => files.every((f) => fs.existsSync(path.join(ws.dir, f)));
/** What runs in the workspace, the CLI itself (whose command line names the plan) left out. */
const running = (ws: Workspace, cli?: number) => processesIn(ws.dir).filter((p) => !p.startsWith(`${cli} `));
/** The check or sample command ended (nothing runs in the workspace): the release is in its wait now. */
const idle = (ws: Workspace, cli?: number) => running(ws, cli).length === 0;
/** A metric sample hangs: its command sleeps. */
const hanging = (ws: Workspace, cli?: number) => running(ws, cli).some((p) => /\bsleep 30\b/.test(p));

/**
 * Monitoring whose metric command hangs for 30 s once `slowAfter` exists (a source that answers
 * slowly), within a timeout that lets it: a sample under way is a wait a request must not sit out.
 */
const MONITORING = (o: { interval: string; window: string; slowAfter?: string }) => `  window: ${o.window}
  interval: ${o.interval}
  baseline:
    fixed: { health: 1 }
  metrics:
    - id: health
      command: touch sampled-$(date +%s%N); ${o.slowAfter ? `if [ -f ${o.slowAfter} ]; then sleep 30; fi; ` : ''}cat health.txt
      timeout: 60s
      guard: { min: 1 }`;

interface Wait {
  kind: string;
  plan: (url: string) => string;
  files?: Record<string, string>;
  /** The release is in the wait (`cli`: the CLI's pid, not counted as the release's own process). */
  inWait: (ws: Workspace, answered: number, cli?: number) => boolean;
}

const sampled = (ws: Workspace) => fs.readdirSync(ws.dir).filter((f) => f.startsWith('sampled-')).length;

const WAITS: Wait[] = [
  {
    kind: "a blue-green health check's 30 s interval",
    plan: () =>
      smallPlan({
        deploy: `    strategy: blue-green
    blueGreen:
      active: cat active.txt
      deploy:
        - run: echo "\${release.version}" > \${deploy.color}.txt
      healthCheck:
        run: touch tried; false
        retries: 3
        interval: 30s
      switch:
        - run: echo \${deploy.color} > active.txt && echo 1.2.3 > deployed.txt`,
      }),
    files: { 'active.txt': 'blue\n', 'blue.txt': '1.2.2\n' },
    inWait: (ws, _n, cli) => exists(ws, 'tried') && idle(ws, cli),
  },
  {
    kind: "the health checks' 30 s interval of a rolling batch",
    plan: () =>
      smallPlan({
        deploy: `    strategy: rolling
    rolling:
      targets: [web-1, web-2]
      maxUnavailable: 2
      steps:
        - run: echo 1.2.3 > deployed.txt
      healthCheck:
        run: touch tried-\${target}; false
        retries: 3
        interval: 30s`,
      }),
    inWait: (ws, _n, cli) => exists(ws, 'tried-web-1', 'tried-web-2') && idle(ws, cli),
  },
  {
    kind: "an HTTP check's 30 s backoff",
    plan: (url) =>
      smallPlan().replace(
        /( {2}verification:\n {4}steps:\n(?: {6}.*\n)+)/,
        `$1    http:\n      - name: API\n        url: ${url}/health\n        retries: 4\n        retryDelay: 30s\n`,
      ),
    inWait: (_ws, answered) => answered >= 1,
  },
  {
    kind: "the monitoring baseline's 30 s interval",
    // Nothing of the release ran yet: the rollback has no backup to restore.
    plan: () =>
      smallPlan({
        monitoring: MONITORING({ interval: '30s', window: '5m' }),
        rollback: '    - name: take the new version away\n      run: rm -f deployed.txt',
      }),
    // The baseline's first scrape; its reading comes one interval later.
    inWait: (ws, _n, cli) => sampled(ws) >= 1 && idle(ws, cli),
  },
  {
    kind: "a canary analysis's sample that answers after 30 s",
    plan: () =>
      smallPlan({
        monitoring: MONITORING({ interval: '1s', window: '5m', slowAfter: 'weight.txt' }),
        deploy: `    strategy: canary
    canary:
      deploy:
        - run: echo 1.2.3 > deployed.txt
      setWeight:
        - run: echo \${canary.weight} > weight.txt
      weights: [10, 50]
      analysis: 10s`,
      }),
    inWait: (ws, _n, cli) => hanging(ws, cli),
  },
  {
    kind: "the monitoring window's sample that answers after 30 s",
    plan: () => smallPlan({ monitoring: MONITORING({ interval: '1s', window: '5m', slowAfter: 'deployed.txt' }) }),
    inWait: (ws, _n, cli) => hanging(ws, cli),
  },
];

/** How long a release may take to reach its wait (a loaded machine, a CLI starting). */
const ARRIVAL_MS = 30_000;

/** Measured latencies, printed at the end so a run shows its spread. */
const figures: string[] = [];

describe('one interrupt per run: a rollback request or a stop ends every wait', function () {
  this.timeout(120_000);
  after(() => {
    if (figures.length) console.log(`\n    measured:\n${figures.map((f) => `      ${f}`).join('\n')}`);
  });

  it(`a rollback requested while a person is asked about a failed step starts the rollback within ${BAR_MS} ms`, async () => {
    const ws = workspace(smallPlan({ deploy: '    steps:\n      - name: deploy\n        run: echo 1.2.3 > deployed.txt; false' }));
    const events: { e: ReleaseEvent; t: number }[] = [];
    let asked = false;
    // A person who has not answered yet: the question stays open until the rollback makes it moot.
    const prompter = { ...scripted(), onFailure: () => ((asked = true), new Promise<never>(() => {})) };
    const release = await Release.start(ws.options({ prompter, onEvent: (e) => events.push({ e, t: Date.now() }) }));
    const done = release.run();
    assert.ok(await waitFor(() => asked, ARRIVAL_MS, 20), `the release asked about the failed deploy: ${events.map((x) => x.e.type).join(' ')}`);
    const t0 = Date.now();
    release.requestRollback('the operator saw errors', 'Test Engineer');
    const started = await waitFor(() => events.find((x) => x.e.type === 'rollback.started'), 5_000, 5);
    const ms = started ? started.t - t0 : NaN;
    figures.push(`rollback while asked about a failed step: ${ms} ms`);
    assert.ok(started && ms < BAR_MS, `rollback.started ${ms} ms after the request (bar ${BAR_MS} ms)`);
    const s = await done;
    assert.equal(s.status, 'rolled-back', s.outcomeMessage);
    assert.equal(s.rollback?.reason, 'the operator saw errors', 'the request from the status bar, with its reason, is the rollback');
  });

  for (const w of WAITS) {
    it(`a rollback requested during ${w.kind} starts the rollback within ${BAR_MS} ms`, async () => {
      const srv = await failingServer();
      try {
        const ws = workspace(w.plan(srv.url), w.files);
        const events: { e: ReleaseEvent; t: number }[] = [];
        const release = await Release.start(ws.options({ prompter: scripted(), onEvent: (e) => events.push({ e, t: Date.now() }) }));
        const done = release.run();
        assert.ok(await waitFor(() => w.inWait(ws, srv.answered()), ARRIVAL_MS, 20), `the release reached ${w.kind}: ${events.map((x) => x.e.type).join(' ')}`);
        // The wait begins just after the command or request ends.
        await new Promise((r) => setTimeout(r, 150));
        const t0 = Date.now();
        release.requestRollback('the operator saw errors', 'Test Engineer');
        const started = await waitFor(() => events.find((x) => x.e.type === 'rollback.started'), 20_000, 5);
        const ms = started ? started.t - t0 : NaN;
        figures.push(`rollback during ${w.kind}: ${ms} ms`);
        assert.ok(started && ms < BAR_MS, `rollback.started ${ms} ms after the request (bar ${BAR_MS} ms)`);
        const s = await done;
        assert.equal(s.status, 'rolled-back', s.outcomeMessage);
        assert.equal(s.rollback?.trigger, 'user');
        assert.deepEqual(processesIn(ws.dir), [], 'nothing of the release runs on');
      } finally {
        await srv.close();
      }
    });

    it(`SIGTERM to the CLI during ${w.kind} pauses the release within ${BAR_MS} ms`, async () => {
      const srv = await failingServer();
      try {
        const ws = workspace(w.plan(srv.url), w.files);
        const child = spawn('node', [CLI, 'run', '--yes', '--tick', 'sign-off', '--plan', ws.planFile], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        assert.ok(await waitFor(() => w.inWait(ws, srv.answered(), child.pid), ARRIVAL_MS, 20), `the CLI reached ${w.kind}:\n${out}`);
        await new Promise((r) => setTimeout(r, 150));
        const t0 = Date.now();
        child.kill('SIGTERM');
        // Waits for the CLI, a real process, to exit: it ends as soon as it does; the 20 s bound only names a hang.
        const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
        if (code === 'hung') child.kill('SIGKILL');
        const runs = path.join(ws.dir, '.release/runs');
        const [id] = fs.readdirSync(runs);
        const journal = fs
          .readFileSync(path.join(runs, id, 'journal.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as ReleaseEvent);
        const paused = journal.find((e) => e.type === 'release.paused');
        const ms = paused ? Date.parse(paused.at) - t0 : NaN;
        figures.push(`SIGTERM during ${w.kind}: ${ms} ms`);
        assert.ok(paused && ms < BAR_MS, `release.paused ${ms} ms after SIGTERM (bar ${BAR_MS} ms):\n${out}`);
        assert.equal(code, 128 + 15, out);
        assert.deepEqual(processesIn(ws.dir), [], 'nothing of the release runs on');
      } finally {
        await srv.close();
      }
    });
  }
});
