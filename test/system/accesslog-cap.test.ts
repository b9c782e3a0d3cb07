import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AccessLogSource, type AccessLogSettings } from '../../src/core/monitor/accesslog-source';
import { LogTail, type TailRead } from '../../src/core/monitor/logtail';
import { parsePlan } from '../../src/core/plan/load';
import { smallPlan } from '../support/fixtures';
import { tempDir } from '../support/helpers';
import { accessLogSettings } from '../support/accesslog';

/**
 * The access log's per-sample cap: a burst of appended bytes costs one read of at most the cap (the
 * newest bytes), and the sample is unusable and says how much was skipped; never a partial value.
 * Bytes read are asserted, not times.
 */

/** A combined-format line of exactly 100 bytes (its newline included), numbered, with its status. */
function line(n: number, status = 200): string {
  const at = (pad: string) => `127.0.0.1 - - [05/Dec/2026:13:00:00 +0000] "GET /r${n}-${pad} HTTP/1.1" ${status} 5 "-" "t" 0.001\n`;
  return at('x'.repeat(100 - at('').length));
}
const lines = (from: number, to: number, status = 200) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i, status)).join('');
/** The request numbers of handed-over lines, as read. */
const numbers = (got: string[]) => got.map((l) => Number(/GET \/r(\d+)-/.exec(l)?.[1] ?? NaN));

async function tailOf(file: string): Promise<{ tail: LogTail; read: (max?: number) => Promise<TailRead & { got: string[] }> }> {
  const tail = new LogTail(file);
  const read = async (max?: number) => {
    const got: string[] = [];
    const r = await tail.read((l) => got.push(l), max);
    return { ...r, got };
  };
  assert.equal((await read()).first, true);
  return { tail, read };
}

interface Case {
  what: string;
  /** What is done to the log after the first read (the offset is at its end then). */
  act(file: string): void;
  cap: number;
  expect: { lines: number[]; bytes: number; skipped: number; unreadable?: string[]; rotation?: TailRead['rotation'] };
  /** A second act and read, for cases that go on. */
  then?: { act(file: string): void; cap: number; lines: number[] };
}

const append = (file: string, text: string) => fs.appendFileSync(file, text);
const rotate = (file: string, fresh: string) => {
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, fresh);
};

/** Meant to fool the cap: boundaries, partial lines, rotations, a cap smaller than a line. */
const CASES: Case[] = [
  {
    what: 'exactly the cap appended: nothing skipped',
    act: (f) => append(f, lines(1, 10)),
    cap: 1000,
    expect: { lines: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], bytes: 1000, skipped: 0 },
  },
  {
    what: 'one byte over the cap: the line cut by the jump is dropped, not unreadable',
    act: (f) => append(f, lines(1, 10)),
    cap: 999,
    expect: { lines: [2, 3, 4, 5, 6, 7, 8, 9, 10], bytes: 999, skipped: 1 },
  },
  {
    what: 'the jump lands at a line start: that line is kept',
    act: (f) => append(f, lines(1, 10)),
    cap: 500,
    expect: { lines: [6, 7, 8, 9, 10], bytes: 500, skipped: 500 },
  },
  { what: 'the jump lands inside a line', act: (f) => append(f, lines(1, 10)), cap: 550, expect: { lines: [6, 7, 8, 9, 10], bytes: 550, skipped: 450 } },
  { what: 'a cap smaller than one line', act: (f) => append(f, lines(1, 10)), cap: 50, expect: { lines: [], bytes: 50, skipped: 950 } },
  {
    what: 'a burst that ends inside a line: the partial line waits, and comes whole next time',
    act: (f) => append(f, lines(1, 10) + line(11).slice(0, 50)),
    cap: 350,
    expect: { lines: [8, 9, 10], bytes: 350, skipped: 700 },
    then: { act: (f) => append(f, line(11).slice(50)), cap: 350, lines: [11] },
  },
  {
    what: 'rename rotation: the new file is read first, the old file from its end',
    act: (f) => {
      append(f, lines(1, 10));
      rotate(f, lines(11, 14));
    },
    cap: 600,
    expect: { lines: [9, 10, 11, 12, 13, 14], bytes: 600, skipped: 800, rotation: 'renamed' },
  },
  {
    what: 'rename rotation with a new file larger than the cap: the old file is skipped',
    act: (f) => {
      append(f, lines(1, 10));
      rotate(f, lines(11, 20));
    },
    cap: 500,
    expect: { lines: [16, 17, 18, 19, 20], bytes: 500, skipped: 1500, rotation: 'renamed' },
  },
  {
    what: 'copytruncate, then a burst: read from 0, within the cap',
    act: (f) => {
      fs.truncateSync(f, 0);
      append(f, lines(21, 30));
    },
    cap: 300,
    expect: { lines: [28, 29, 30], bytes: 300, skipped: 700, rotation: 'truncated' },
  },
  {
    what: 'no cap: everything is read, as before',
    act: (f) => append(f, lines(1, 10)),
    cap: Infinity,
    expect: { lines: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], bytes: 1000, skipped: 0 },
  },
  {
    what: 'a cap of 0: nothing read, everything said skipped',
    act: (f) => append(f, lines(1, 10)),
    cap: 0,
    expect: { lines: [], bytes: 0, skipped: 1000 },
    then: { act: (f) => append(f, lines(11, 12)), cap: 1000, lines: [11, 12] },
  },
  {
    what: 'a line over 64 KiB inside the part read is still skipped as unreadable',
    act: (f) => append(f, lines(1, 2) + `${'x'.repeat(70_000)}\n` + lines(3, 4)),
    cap: 80_000,
    expect: { lines: [1, 2, 3, 4], bytes: 70_401, skipped: 0, unreadable: ['a line over 64 KiB, skipped'] },
  },
];

describe('access log: at most maxReadMiB a sample, and said', function () {
  this.timeout(60_000);

  for (const c of CASES) {
    it(c.what, async () => {
      const file = path.join(tempDir('rp-cap-'), 'access.log');
      fs.writeFileSync(file, lines(900, 919));
      const { tail, read } = await tailOf(file);
      try {
        c.act(file);
        const r = await read(c.cap);
        assert.deepEqual(
          { lines: numbers(r.got), bytes: r.bytes, skipped: r.skipped, unreadable: r.unreadable, rotation: r.rotation },
          { unreadable: [], rotation: undefined, ...c.expect },
        );
        assert.ok(r.bytes <= c.cap, `read ${r.bytes} bytes, cap ${c.cap}`);
        for (const l of r.got) assert.ok(l === line(numbers([l])[0]).slice(0, -1), `a line handed over whole: ${JSON.stringify(l.slice(0, 60))}`);
        if (c.then) {
          c.then.act(file);
          const next = await read(c.then.cap);
          assert.deepEqual(numbers(next.got), c.then.lines);
          assert.equal(next.skipped, 0);
        }
      } finally {
        await tail.close();
      }
    });
  }

  it('over successive bursts, every byte is read or said skipped, and no read passes the cap', async () => {
    const file = path.join(tempDir('rp-cap-'), 'access.log');
    fs.writeFileSync(file, '');
    const { tail, read } = await tailOf(file);
    let appended = 0;
    let accounted = 0;
    for (let round = 0; round < 5; round++) {
      const text = lines(round * 100, round * 100 + 20 + round * 7);
      append(file, text);
      appended += text.length;
      const r = await read(777);
      assert.ok(r.bytes <= 777, `round ${round}: read ${r.bytes}`);
      accounted += r.bytes + r.skipped;
    }
    await tail.close();
    assert.equal(accounted, appended);
  });
});

const settings = accessLogSettings;

/** `mib` MiB of lines of one status, appended in 1 MiB writes. */
function appendMiB(file: string, mib: number, status: number): void {
  const chunk = Buffer.from(lines(1, Math.ceil((1024 * 1024) / 100), status)).subarray(0, 1024 * 1024 - ((1024 * 1024) % 100));
  for (let i = 0; i < mib; i++) fs.appendFileSync(file, chunk);
}

describe('access log source: a large append is one bounded read', function () {
  this.timeout(120_000);
  let dir = '';
  before(() => (dir = tempDir('rp-cap-big-')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function burst(over: Partial<AccessLogSettings>, oldMiB: number, newMiB: number) {
    const file = path.join(dir, `access-${Math.random().toString(36).slice(2)}.log`);
    fs.writeFileSync(file, '');
    const s = new AccessLogSource(file, settings(over));
    assert.equal((await s.sample()).status, 'empty', 'the first read notes the end');
    appendMiB(file, oldMiB, 500);
    appendMiB(file, newMiB, 200);
    const size = fs.statSync(file).size;
    const sample = await s.sample();
    await s.close();
    fs.rmSync(file);
    return { sample, size };
  }

  it("a 200 MiB append with maxReadMiB 1: the sample reads the newest 1 MiB only, and is an error sample naming the skip (never the tail's 0.00)", async () => {
    const { sample, size } = await burst({ maxReadMiB: 1 }, 198, 2);
    assert.equal(size, 200 * (1024 * 1024 - ((1024 * 1024) % 100)));
    // The newest 1 MiB are all 200s: a partial ratio would be a clean 0 over 198 MiB of 500s.
    assert.equal(sample.status, 'error', sample.message);
    assert.equal(sample.value, null);
    assert.match(
      sample.message!,
      /^199\.0 MiB of 200\.0 MiB appended since the previous sample skipped \(over maxReadMiB, 1 MiB a sample\): the errorRatio of the part read could hide the skipped requests; raise maxReadMiB or sample more often; the part read: /,
    );
    const requests = Number(/(\d+) request\(s\)/.exec(sample.message!)![1]);
    assert.ok(requests <= (1024 * 1024) / 100 && requests >= (1024 * 1024) / 100 - 1, `requests counted from 1 MiB of 100-byte lines: ${requests}`);
  });

  it('a request rate cannot be based on the tail: an error sample naming maxReadMiB', async () => {
    const { sample } = await burst({ statistic: 'rate', maxReadMiB: 1 }, 3, 1);
    assert.equal(sample.status, 'error');
    assert.equal(sample.value, null);
    assert.match(sample.message!, /skipped \(over maxReadMiB, 1 MiB a sample\).*raise maxReadMiB or sample more often/);
  });

  it('a percentile cannot be based on the tail either: an error sample naming the skip', async () => {
    const { sample } = await burst({ statistic: 'p99', maxReadMiB: 1 }, 3, 2);
    assert.equal(sample.status, 'error', sample.message);
    assert.equal(sample.value, null);
    assert.match(sample.message!, /^4\.0 MiB of 5\.0 MiB appended since the previous sample skipped \(over maxReadMiB, 1 MiB a sample\): the p99 /);
  });

  it('a tail with no request in it is an error sample, not "no traffic"', async () => {
    const file = path.join(dir, 'garbage.log');
    fs.writeFileSync(file, '');
    const s = new AccessLogSource(file, settings({ maxReadMiB: 0.001 }));
    await s.sample();
    fs.appendFileSync(file, lines(1, 5) + `${'not a log line '.repeat(100)}\n`);
    const sample = await s.sample();
    await s.close();
    assert.equal(sample.status, 'error');
    assert.match(sample.message!, /MiB of 0\.\d+ MiB appended since the previous sample skipped \(over maxReadMiB, 0\.001 MiB a sample\)/);
  });

  it('the default (128 MiB) reads a 10 MiB append whole, with no word of a tail', async () => {
    const { sample } = await burst({}, 9, 1);
    assert.equal(sample.status, 'ok');
    assert.ok(sample.value! > 0.85 && sample.value! < 0.95, `the ratio of every request: ${sample.value}`);
    assert.doesNotMatch(sample.message!, /based on|skipped/);
  });
});

describe('plan: accessLog.maxReadMiB', () => {
  const plan = (v?: string) =>
    smallPlan({
      monitoring: `  window: 1s
  interval: 200ms
  baseline:
    fixed: { errors: 0 }
  metrics:
    - id: errors
      accessLog:
        path: access.log
        statistic: errorRatio${v === undefined ? '' : `\n        maxReadMiB: ${v}`}
      guard: { max: 0.1 }`,
    });
  const CASES: Array<[string | undefined, RegExp | number]> = [
    [undefined, 128],
    ['0.5', 0.5],
    ['4096', 4096],
    ['0', /expected number to be >0|Too small/i],
    ['-1', /Too small|>0/i],
    ['4097', /Too big|<=4096/i],
    ['"64"', /expected number/],
    ['.inf', /expected number/],
  ];
  for (const [v, want] of CASES)
    it(`maxReadMiB ${v ?? '(unset)'}`, () => {
      const r = parsePlan(plan(v), '/ws/.release/plan.yaml');
      if (typeof want === 'number') {
        assert.ok(r.ok, r.ok ? '' : r.problems.map((p) => p.message).join('; '));
        assert.equal(r.plan.monitoring.metrics[0].accessLog!.maxReadMiB, want);
      } else {
        assert.ok(!r.ok);
        assert.match(r.problems.map((p) => p.message).join('; '), want);
      }
    });
});
