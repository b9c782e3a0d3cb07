import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT, tempDir } from '../support/helpers';
import { freePort, startServer, type TestServer } from '../support/server';
import { waitFor } from '../support/waitFor';
import { startLoad } from '../../src/core/monitor/loadTraffic';
import type { LoadSummary } from '../../src/core/monitor/loadTally';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** `release-pilot load …` as a person runs it, without a terminal (its own process: the service here keeps answering). */
async function load(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [CLI, 'load', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  return { code, out, err };
}

/**
 * An orders service as the tests need it: GET / answers 200 (`mode` makes it fail with 503, hang,
 * reset the connection or answer after `slowMs`), POST /orders stores the order unless `dropEvery`
 * says to acknowledge it and drop it, GET /orders/ID finds a stored one.
 */
class Service {
  mode: 'ok' | 'fail' | 'hang' | 'reset' = 'ok';
  slowMs = 0;
  dropEvery = 0;
  received = 0;
  readonly stored = new Set<number>();
  private writes = 0;
  server!: TestServer;

  async start(): Promise<this> {
    this.server = await startServer((req, res) => this.answer(req, res));
    return this;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.received++;
    const found = /^\/orders\/(\d+)$/.exec(req.url ?? '');
    if (found) {
      res.writeHead(this.stored.has(Number(found[1])) ? 200 : 404);
      return void res.end();
    }
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const id = (JSON.parse(body) as { id: number }).id;
        this.writes++;
        if (!(this.dropEvery && this.writes % this.dropEvery === 0)) this.stored.add(id);
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id }));
      });
      return;
    }
    if (this.mode === 'hang') return;
    if (this.mode === 'reset') return void req.socket.destroy();
    const send = () => {
      res.writeHead(this.mode === 'fail' ? 503 : 200, { 'content-type': 'application/json', 'x-served-by': 'a' });
      res.end(JSON.stringify({ version: '1.0.0' }));
    };
    // A service slow on purpose: answers after slowMs.
    if (this.slowMs) setTimeout(send, this.slowMs);
    else send();
  }

  get url(): string {
    return this.server.url;
  }

  stop(): Promise<void> {
    return this.server.close();
  }
}

describe('release-pilot load: traffic to your own service, every answer counted', function () {
  this.timeout(60_000);
  let svc: Service;
  beforeEach(async () => {
    svc = await new Service().start();
  });
  afterEach(() => svc.stop());

  describe('refuses what it cannot run, naming the option (exit 2, nothing sent)', () => {
    const cases: [string, string[], RegExp][] = [
      ['rate 0', ['--rate', '0'], /--rate must be a number of requests per second above 0, got 0/],
      ['a negative rate', ['--rate', '-5'], /--rate must be .* above 0, got -5/],
      ['a rate that is not a number', ['--rate', 'fast'], /--rate expects a number .* "fast"/],
      ['a huge rate', ['--rate', '1e9'], /--rate 1000000000 is above 10000 requests per second/],
      ['duration 0', ['--rate', '10', '--duration', '0'], /--duration must be above 0/],
      ['a duration that is not one', ['--rate', '10', '--duration', 'soon'], /--duration expects a duration such as 30s.*"soon"/],
      ['no rate', [], /load needs --rate N/],
      ['a write without a path', ['--rate', '10', '--write', 'POST'], /--write expects 'METHOD PATH \[BODY\]'/],
      ['a write ratio above 1', ['--rate', '10', '--write', 'POST /orders {}', '--write-ratio', '2'], /--write-ratio must be above 0 and at most 1, got 2/],
      [
        'writes checked without an id to find them by',
        ['--rate', '10', '--write', 'POST /orders {}', '--check-writes', '/orders/{id}'],
        /needs \{id\} in --write/,
      ],
      ['a check URL without {id}', ['--rate', '10', '--write', 'POST /orders {"id":{id}}', '--check-writes', '/orders'], /--check-writes needs \{id\} where/],
      ['zero concurrency', ['--rate', '10', '--concurrency', '0'], /--concurrency must be a whole number from 1 to 10000, got 0/],
    ];
    for (const [title, args, message] of cases)
      it(title, async () => {
        const r = await load(svc.url, ...args);
        assert.equal(r.code, 2, r.out + r.err);
        assert.match(r.err, message);
        assert.equal(svc.received, 0, 'nothing was sent');
      });

    it('a URL that is not one, and a scheme it does not speak', async () => {
      const bad = await load('localhost:8080', '--rate', '10');
      assert.equal(bad.code, 2);
      assert.match(bad.err, /not a URL: "localhost:8080" \(expected http:\/\/HOST:PORT\/PATH\)|only http:\/\/ and https:\/\/ URLs are loaded/);
      const ftp = await load('ftp://127.0.0.1/x', '--rate', '10');
      assert.equal(ftp.code, 2);
      assert.match(ftp.err, /only http:\/\/ and https:\/\/ URLs are loaded/);
    });
  });

  it('reads and writes at the rate asked; every write acknowledged is read back: exit 0', async () => {
    const r = await load(
      svc.url,
      '--rate',
      '40',
      '--duration',
      '1s',
      '--write',
      'POST /orders {"id":{id},"item":"x"}',
      '--check-writes',
      '/orders/{id}',
      '--json',
    );
    assert.equal(r.code, 0, r.out + r.err);
    const s = JSON.parse(r.out) as LoadSummary;
    assert.equal(s.sent, 40);
    assert.equal(s.writes, 10, 'a quarter are writes by default');
    assert.equal(s.byStatus['200'], 30);
    assert.equal(s.byStatus['201'], 10);
    assert.equal(s.failures, 0);
    assert.deepEqual(s.writesCheck, {
      acknowledged: 10,
      present: 10,
      lost: 0,
      lostIds: [],
      afterRollback: false,
      line: 'acknowledged writes: 10, present: 10, lost: 0',
    });
    assert.equal(svc.stored.size, 10);
  });

  it('a write acknowledged and then not found is lost: counted, named, exit 1', async () => {
    svc.dropEvery = 3;
    const r = await load(
      svc.url,
      '--rate',
      '40',
      '--duration',
      '1500ms',
      '--write',
      'POST /orders {"id":{id}}',
      '--write-ratio',
      '0.5',
      '--check-writes',
      `${svc.url}/orders/{id}`,
    );
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /acknowledged writes: 30, present: 20, lost: 10 \(read back: 404 ×10\)/);
    assert.match(r.out, /lost writes: \d+/);
  });

  it('5xx answers are failures, with the longest stretch without a successful answer: exit 1', async () => {
    const run = startLoad({ url: svc.url, rate: 50, durationMs: 1500 });
    await waitFor(() => run.summary().answered >= 10);
    svc.mode = 'fail';
    const failedAt = Date.now();
    await waitFor(() => (run.summary().byStatus['503'] ?? 0) >= 20);
    svc.mode = 'ok';
    const outage = Date.now() - failedAt;
    const s = await run.done;
    assert.ok(s.byStatus['503'] >= 20 && s.failures === s.byStatus['503'], JSON.stringify(s.byStatus));
    // The stretch spans the outage: at least the time between the last 200 and the first one after.
    assert.ok(
      s.longestWithoutSuccess.ms >= outage - 100 && s.longestWithoutSuccess.ms < outage + 1000,
      `${s.longestWithoutSuccess.ms} ms for an outage of ${outage} ms`,
    );
    assert.ok(s.longestSilence.ms < s.longestWithoutSuccess.ms, 'the 503s were answers');
  });

  it('a service that never answers: every request ends at its timeout, and the run still ends (exit 1)', async () => {
    svc.mode = 'hang';
    const t0 = Date.now();
    const r = await load(svc.url, '--rate', '20', '--duration', '500ms', '--timeout', '300ms', '--json');
    const took = Date.now() - t0;
    assert.equal(r.code, 1, r.out + r.err);
    const s = JSON.parse(r.out) as LoadSummary;
    assert.deepEqual(s.byStatus, { timeout: 10 });
    assert.equal(s.failures, 10);
    assert.equal(s.longestWithoutSuccess.ms >= 500, true, JSON.stringify(s.longestWithoutSuccess));
    assert.ok(took < 10_000, `took ${took} ms`);
  });

  it('connections reset and refused are failures by name', async () => {
    svc.mode = 'reset';
    const reset = await startLoad({ url: svc.url, rate: 40, durationMs: 500 }).done;
    assert.deepEqual(reset.byStatus, { reset: 20 });
    const closed = await startLoad({ url: `http://127.0.0.1:${await freePort()}/`, rate: 40, durationMs: 500 }).done;
    assert.deepEqual(closed.byStatus, { refused: 20 });
    assert.equal(closed.failures, 20);
  });

  it('4xx answers are counted by status but are not failures', async () => {
    const s = await startLoad({ url: `${svc.url}/orders/1`, rate: 40, durationMs: 500 }).done;
    assert.deepEqual(s.byStatus, { 404: 20 });
    assert.equal(s.failures, 0);
  });

  it('open loop: a slow service gets every request when it is due, not one after another', async () => {
    svc.slowMs = 400;
    const s = await startLoad({ url: svc.url, rate: 50, durationMs: 1000 }).done;
    assert.equal(s.sent, 50);
    assert.equal(s.byStatus['200'], 50);
    // Sent closed loop by one client, 50 answers of 400 ms would take 20 s.
    assert.ok(s.seconds < 5, `${s.seconds} s`);
    assert.ok(s.latencyMs.p50 >= 400 && s.latencyMs.max < 3000, JSON.stringify(s.latencyMs));
  });

  it('bounded concurrency: requests due beyond the limit are failures, not a pile of open connections', async () => {
    svc.mode = 'hang';
    const s = await startLoad({ url: svc.url, rate: 100, durationMs: 500, concurrency: 5, timeoutMs: 2000 }).done;
    assert.equal(s.byStatus.timeout, 5);
    assert.equal(s.byStatus['over concurrency'], 45);
    assert.equal(s.failures, 50);
  });

  it('SIGINT mid-run: stops sending, prints the summary so far, exits 130', async () => {
    const out = path.join(tempDir('rp-load-'), 'load.json');
    const child = spawn(
      process.execPath,
      [CLI, 'load', svc.url, '--rate', '40', '--write', 'POST /orders {"id":{id}}', '--check-writes', '/orders/{id}', '--out', out],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    await waitFor(() => svc.received >= 20);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 130, stdout);
    assert.match(stdout, /requests in .* s .*, stopped early/);
    assert.match(stdout, /acknowledged writes: (\d+), present: \1, lost: 0/);
    const kept = JSON.parse(fs.readFileSync(out, 'utf8')) as LoadSummary;
    assert.equal(kept.stoppedEarly, true);
    assert.ok(kept.sent >= 20 && kept.sent < 200, `${kept.sent} sent`);
  });

  it('answers are counted by who answered and by the version they answered with', async () => {
    const s = await startLoad({ url: svc.url, rate: 40, durationMs: 500, labelHeader: 'X-Served-By' }).done;
    assert.deepEqual(s.counts.before.byServer, { a: { ok: 20, failed: 0 } });
    assert.deepEqual(s.counts.before.byVersion, { 'a@1.0.0': 20 });
  });

  it('prints its help and is completed in bash', async () => {
    const help = await load('--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: release-pilot load URL --rate N/);
    const script = spawnSync(process.execPath, [CLI, 'completion', 'bash'], { encoding: 'utf8' }).stdout;
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(release-pilot load http://x --ch); COMP_CWORD=3; _release_pilot; echo "\${COMPREPLY[@]}"`], {
      encoding: 'utf8',
    });
    assert.equal(r.stdout.trim(), '--check-writes');
    const top = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(release-pilot lo); COMP_CWORD=1; _release_pilot; echo "\${COMPREPLY[@]}"`], {
      encoding: 'utf8',
    });
    assert.equal(top.stdout.trim(), 'load');
  });
});
