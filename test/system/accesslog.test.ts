import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { AccessLogSource, type AccessLogSettings } from '../../src/core/monitor/accesslog-source';
import { StubStatusSource } from '../../src/core/monitor/stubstatus';
import { LogTail, MAX_LINE_BYTES } from '../../src/core/monitor/logtail';
import type { Sample } from '../../src/core/monitor/sample';
import { tempDir } from '../support/helpers';
import { accessLogSettings } from '../support/accesslog';
import { processesWhere } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { lineCount, startNginx, type Nginx } from '../support/nginx';
import { startServer, type TestServer } from '../support/server';

const settings = accessLogSettings;

/** Whether every worker of the nginx whose master writes `log` has it open, and none the renamed one. */
function workersWriteTo(log: string): boolean {
  const master = fs.readFileSync(path.join(path.dirname(path.dirname(log)), 'nginx.pid'), 'utf8').trim();
  let workers: string[];
  try {
    workers = fs.readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return false;
  }
  const open = (pid: string) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      });
    } catch {
      return [];
    }
  };
  return workers.length > 0 && workers.every((w) => open(w).includes(log) && !open(w).some((f) => f.startsWith(`${log}.1`)));
}

/** The counts a sample's message gives: `N request(s), E error(s) in S s`. */
function counted(s: Sample): { requests: number; errors: number; seconds: number } {
  const m = /(\d+) request\(s\), (\d+) error\(s\) in ([\d.]+) s/.exec(s.message ?? '');
  assert.ok(m, `no counts in ${JSON.stringify(s)}`);
  return { requests: Number(m[1]), errors: Number(m[2]), seconds: Number(m[3]) };
}

const line = (status: number, time = '0.001') => `127.0.0.1 - - [28/Nov/2026:12:00:00 +0000] "GET /x HTTP/1.1" ${status} 5 "-" "t" ${time}\n`;

describe('access log source against a real nginx', function () {
  this.timeout(60_000);
  let nginx: Nginx;
  let upstream: TestServer;
  const sources: AccessLogSource[] = [];
  const source = (over: Partial<AccessLogSettings> = {}, file = nginx.log) => {
    const s = new AccessLogSource(file, settings(over));
    sources.push(s);
    return s;
  };
  /** Sends requests to nginx and waits until nginx logged them (it logs after it answered). */
  async function send(paths: string[], file = nginx.log): Promise<void> {
    const before = lineCount(file);
    for (const p of paths) await nginx.get(p);
    assert.ok(await waitFor(() => lineCount(file) >= before + paths.length, 10_000), `nginx logged ${lineCount(file) - before} of ${paths.length}`);
  }
  const times = (p: string, n: number) => Array.from({ length: n }, () => p);

  before(async () => {
    // The upstream answers slowly on purpose: nginx logs a $request_time of at least 0.3 s.
    upstream = await startServer((req, res) => setTimeout(() => res.end('slow\n'), 300));
    nginx = await startNginx(upstream.port);
  });
  after(async () => {
    for (const s of sources) await s.close();
    await nginx?.stop();
    await upstream?.close();
    assert.deepEqual(
      processesWhere((p) => p.cmd.includes(nginx.dir)),
      [],
      'no nginx process is left',
    );
  });

  it('the first read counts no history; then exactly the requests appended', async () => {
    await send([...times('/ok', 5), '/fail']);
    const src = source();
    const first = await src.sample();
    assert.equal(first.status, 'empty');
    assert.match(first.message!, /counting starts at its end/);
    await send([...times('/ok', 7), ...times('/fail', 3)]);
    const s = await src.sample();
    assert.equal(s.status, 'ok', s.message);
    assert.equal(s.value, 0.3);
    assert.deepEqual({ ...counted(s), seconds: 0 }, { requests: 10, errors: 3, seconds: 0 });
    const again = await src.sample();
    assert.equal(again.status, 'no-traffic', 'nothing appended since: no error ratio');
  });

  it('request rate is the requests over the time between two reads', async () => {
    const src = source({ statistic: 'rate' });
    await src.sample();
    await send(times('/ok', 12));
    // At least 0.2 s between the reads: the message's seconds, to the ms, then give the rate within 0.25 %.
    await new Promise((r) => setTimeout(r, 200));
    const s = await src.sample();
    const c = counted(s);
    assert.equal(c.requests, 12);
    assert.ok(Math.abs(s.value! - 12 / c.seconds) / s.value! < 0.01, `${s.value} vs 12 / ${c.seconds}`);
  });

  it('4xx+5xx counts both classes; JSON lines give the same numbers', async () => {
    const combined = source({ errorStatus: ['4xx', '5xx'] });
    const json = source({ format: 'json', errorStatus: ['4xx', '5xx'] }, nginx.jsonLog);
    await combined.sample();
    await json.sample();
    await send([...times('/ok', 6), '/missing', '/missing', '/fail', '/fail']);
    await waitFor(() => lineCount(nginx.jsonLog) >= lineCount(nginx.log), 5000);
    const a = await combined.sample();
    const b = await json.sample();
    assert.equal(a.value, 0.4);
    assert.equal(b.value, 0.4, b.message);
    assert.equal(counted(b).requests, 10);
  });

  it('latency percentiles from $request_time: fast requests and ones an upstream holds 300 ms', async () => {
    const p50 = source({ statistic: 'p50' });
    const p90 = source({ statistic: 'p90' });
    const jp90 = source({ format: 'json', statistic: 'p90' }, nginx.jsonLog);
    await Promise.all([p50.sample(), p90.sample(), jp90.sample()]);
    await send([...times('/ok', 8), ...times('/slow', 2)]);
    await waitFor(() => lineCount(nginx.jsonLog) >= lineCount(nginx.log), 5000);
    const [a, b, c] = await Promise.all([p50.sample(), p90.sample(), jp90.sample()]);
    assert.equal(a.status, 'ok', a.message);
    assert.ok(a.value! < 0.1, `p50 ${a.value}`);
    assert.ok(b.value! >= 0.29 && b.value! < 5, `p90 ${b.value}`);
    assert.equal(c.value, b.value, 'the JSON log has the same request times');
  });

  it('rename and reopen (mv + nginx -s reopen): the old file is finished, the new one read from 0, nothing counted twice', async () => {
    const src = source();
    await src.sample();
    await send([...times('/ok', 2), '/fail', '/fail']);
    fs.renameSync(nginx.log, `${nginx.log}.1`);
    // Not yet reopened: nginx still writes to the renamed file; a read now follows it.
    await send(['/ok', '/ok', '/fail'], `${nginx.log}.1`);
    const between = await src.sample();
    assert.deepEqual([counted(between).requests, counted(between).errors], [7, 3], between.message);
    await send(['/fail'], `${nginx.log}.1`);
    nginx.reopen();
    // The master makes the new file, then each worker reopens it: the test waits until every worker writes there.
    assert.ok(await waitFor(() => fs.existsSync(nginx.log) && workersWriteTo(nginx.log), 10_000), 'nginx reopened a new log');
    await send([...times('/ok', 4), '/fail']);
    const s = await src.sample();
    assert.deepEqual([counted(s).requests, counted(s).errors], [6, 2], s.message);
    assert.match(s.message!, /log renamed/);
    await send(['/ok']);
    const next = await src.sample();
    assert.deepEqual([counted(next).requests, counted(next).errors], [1, 0], next.message);
  });

  it('copytruncate: reading starts again at 0, the lines already read are not counted again', async () => {
    const src = source();
    await src.sample();
    await send([...times('/ok', 30), ...times('/fail', 10)]);
    const s1 = await src.sample();
    assert.deepEqual([counted(s1).requests, counted(s1).errors], [40, 10]);
    execFileSync('sh', ['-c', `cp "${nginx.log}" "${nginx.log}.2" && truncate -s 0 "${nginx.log}"`]);
    await send(['/fail', '/ok', '/ok']);
    const s2 = await src.sample();
    assert.deepEqual([counted(s2).requests, counted(s2).errors], [3, 1], s2.message);
    assert.match(s2.message!, /truncated/);
  });

  it('stub_status: connections now, and counters as rates between two reads', async () => {
    const active = new StubStatusSource(`${nginx.url}/nginx_status`, 'active', 5000);
    const requests = new StubStatusSource(`${nginx.url}/nginx_status`, 'requests', 5000);
    const a = await active.sample();
    assert.equal(a.status, 'ok');
    assert.ok(a.value! >= 1, 'the status request itself is an active connection');
    assert.equal((await requests.sample()).status, 'empty');
    await send(times('/ok', 20));
    // Waits for 0.5 s of the wall clock between the reads: the message gives seconds to 10 ms, and over
    // 0.5 s that rounding stays within the 1 % asserted below.
    await new Promise((r) => setTimeout(r, 500));
    const r = await requests.sample();
    assert.equal(r.status, 'ok', r.message);
    const m = /requests \+(\d+) in ([\d.]+) s/.exec(r.message!);
    // 20 requests, plus the stub_status request of this read itself.
    assert.equal(Number(m![1]), 21);
    assert.ok(Math.abs(r.value! - 21 / Number(m![2])) / r.value! < 0.01);
    const wrong = new StubStatusSource(`${nginx.url}/ok`, 'active', 5000);
    assert.match((await wrong.sample()).message!, /not an nginx stub_status page/);
  });
});

describe('access log source: hostile files', function () {
  this.timeout(60_000);
  const open: AccessLogSource[] = [];
  const src = (file: string, over: Partial<AccessLogSettings> = {}) => {
    const s = new AccessLogSource(file, settings(over));
    open.push(s);
    return s;
  };
  after(async () => {
    for (const s of open) await s.close();
  });

  it('a missing file is an error sample naming it', async () => {
    const file = path.join(tempDir(), 'none.log');
    const s = await src(file).sample();
    assert.equal(s.status, 'error');
    assert.equal(s.message, `cannot read the log ${file}: no such file`);
  });

  it('a directory is an error sample, also when it replaces the file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.log');
    fs.mkdirSync(file);
    assert.match((await src(file).sample()).message!, /is not a regular file \(a directory\)/);
    const file2 = path.join(dir, 'b.log');
    fs.writeFileSync(file2, line(200));
    const s = src(file2);
    await s.sample();
    fs.rmSync(file2);
    fs.mkdirSync(file2);
    assert.match((await s.sample()).message!, /is not a regular file \(a directory\)/);
  });

  it('an empty file, then lines: counted from 0', async () => {
    const file = path.join(tempDir(), 'a.log');
    fs.writeFileSync(file, '');
    const s = src(file);
    assert.equal((await s.sample()).status, 'empty');
    assert.equal((await s.sample()).status, 'no-traffic');
    fs.appendFileSync(file, line(500) + line(200));
    assert.equal((await s.sample()).value, 0.5);
  });

  it('a line split across two reads is counted once, whole, at the read that completes it', async () => {
    const file = path.join(tempDir(), 'a.log');
    fs.writeFileSync(file, line(200));
    const s = src(file);
    await s.sample();
    const l = line(503);
    fs.appendFileSync(file, l.slice(0, 40));
    const half = await s.sample();
    assert.equal(half.status, 'no-traffic', half.message);
    fs.appendFileSync(file, l.slice(40, -1));
    assert.equal((await s.sample()).status, 'no-traffic');
    fs.appendFileSync(file, '\n');
    const whole = await s.sample();
    assert.equal(whole.value, 1);
    assert.equal(counted(whole).requests, 1);
  });

  it('a UTF-8 character split across two reads is not mangled', async () => {
    const file = path.join(tempDir(), 'a.log');
    fs.writeFileSync(file, '');
    const s = src(file, { format: 'json' });
    await s.sample();
    const bytes = Buffer.from('{"status":500,"uri":"/caf\u00e9\u{1F600}"}\n');
    const cut = bytes.indexOf(0xf0) + 2;
    fs.appendFileSync(file, bytes.subarray(0, cut));
    await s.sample();
    fs.appendFileSync(file, bytes.subarray(cut));
    const r = await s.sample();
    assert.equal(r.value, 1, r.message);
  });

  it('unparseable lines are counted and named, not judged; a read of nothing but them is an error', async () => {
    const file = path.join(tempDir(), 'a.log');
    fs.writeFileSync(file, '');
    const s = src(file);
    await s.sample();
    fs.appendFileSync(file, `garbage\n${line(500)}{"status":500}\n\n${line(200)}`);
    const r = await s.sample();
    assert.equal(r.value, 0.5);
    assert.match(r.message!, /2 line\(s\) not read \(first: line \d+ read: not in combined format/);
    fs.appendFileSync(file, 'x\ny\n');
    const bad = await s.sample();
    assert.equal(bad.status, 'error');
    assert.match(bad.message!, /no line in combined format: 0 request\(s\).*2 line\(s\) not read/);
  });

  it('a huge line is skipped and counted; the lines around it are read', async () => {
    const file = path.join(tempDir(), 'a.log');
    fs.writeFileSync(file, '');
    const s = src(file);
    await s.sample();
    fs.appendFileSync(file, line(500) + `1.2.3.4 - - [t] "GET /${'a'.repeat(MAX_LINE_BYTES * 3)} HTTP/1.1" 500 1 "-" "-"\n` + line(200));
    const r = await s.sample();
    assert.equal(counted(r).requests, 2);
    assert.equal(r.value, 0.5);
    assert.match(r.message!, /1 line\(s\) not read \(first: a line over 64 KiB, skipped\)/);
  });

  it('latency without request times is an error that says how to log them; bad times are counted', async () => {
    const file = path.join(tempDir(), 'a.log');
    fs.writeFileSync(file, '');
    const s = src(file, { statistic: 'p99' });
    await s.sample();
    fs.appendFileSync(file, line(200, '-') + line(200, 'NaN') + line(200, '-1'));
    const r = await s.sample();
    assert.equal(r.status, 'error');
    assert.match(r.message!, /2 bad request time\(s\).*append \$request_time to the log_format/);
    fs.appendFileSync(file, line(200, '0.5') + line(200, 'NaN'));
    const ok = await s.sample();
    assert.equal(ok.value, 0.5);
  });

  it('a large append is read in bounded memory; the rate of a 1M-line append is exact', async function () {
    this.timeout(180_000);
    const file = path.join(tempDir(), 'big.log');
    fs.writeFileSync(file, line(200).repeat(1000));
    const s = src(file);
    await s.sample();
    const block = (line(200).repeat(9) + line(500)).repeat(1000);
    const fd = fs.openSync(file, 'a');
    for (let i = 0; i < 100; i++) fs.writeSync(fd, block);
    fs.closeSync(fd);
    const size = fs.statSync(file).size;
    global.gc?.();
    const heap = process.memoryUsage().heapUsed;
    let peak = heap;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    const t0 = performance.now();
    const r = await s.sample();
    const ms = performance.now() - t0;
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    assert.deepEqual([counted(r).requests, counted(r).errors], [1_000_000, 100_000]);
    assert.equal(r.value, 0.1);
    console.log(
      `      ${(size / 1e6).toFixed(0)} MB, 1,000,000 lines in ${ms.toFixed(0)} ms (${Math.round(1e6 / (ms / 1000)).toLocaleString('en')} lines/s); heap growth ${((peak - heap) / 1e6).toFixed(1)} MB`,
    );
    assert.ok(peak - heap < 64e6, `heap grew ${(peak - heap) / 1e6} MB reading ${size / 1e6} MB`);
  });

  it('LogTail hands over complete lines only', async () => {
    const file = path.join(tempDir(), 't.log');
    fs.writeFileSync(file, 'old\n');
    const t = new LogTail(file);
    const got: string[] = [];
    assert.equal((await t.read((l) => got.push(l))).first, true);
    fs.appendFileSync(file, 'a\nb');
    await t.read((l) => got.push(l));
    fs.appendFileSync(file, 'c\n\nd\n');
    await t.read((l) => got.push(l));
    await t.close();
    assert.deepEqual(got, ['a', 'bc', '', 'd']);
  });
});
