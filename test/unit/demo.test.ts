import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { processesIn, ROOT } from './helpers';

function demo(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'examples', 'demo', 'run-demo.mjs'), '--keep', ...args], { encoding: 'utf8', timeout: 170_000 });
  const dir = /\[demo\]\S* workspace (\S+)/.exec(r.stdout)?.[1];
  assert.ok(dir, `the demo printed its workspace:\n${r.stdout}\n${r.stderr}`);
  return { ...r, dir };
}

describe('the demo release through the CLI (a real service, database and traffic)', function () {
  this.timeout(180_000);

  it('releases v1.1.0: exit 0, green serves, the database is migrated, the report says so, nothing left running', () => {
    const r = demo();
    try {
      assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr);
      assert.match(r.stdout, /■ released: every phase passed/);
      assert.match(r.stdout, /- \*\*Core API\*\*: 200 OK\n- \*\*Monitoring\*\*: Normal/);
      assert.match(r.stdout, /- \*\*New\*\*: db: orders carry a delivery note/);
      assert.match(r.stdout, /traffic is on green; database schema version 2 \(orders columns: id, customer, total_cents, note\); 40\/40 requests answer 200 now/);
      const runs = path.join(r.dir, '.release', 'runs');
      const report = fs.readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'report.md'), 'utf8');
      assert.match(report, /- \*\*Rollback Triggered\*\*: No/);
      assert.deepEqual(processesIn(r.dir), []);
    } finally {
      fs.rmSync(r.dir, { recursive: true, force: true });
    }
  });

  it('--bad: the monitor catches the error spike, rolls back traffic and database, exit 3, nothing left running', () => {
    const r = demo('--bad');
    try {
      assert.equal(r.status, 3, r.stdout.slice(-3000) + r.stderr);
      assert.match(r.stdout, /⟲ Rollback \(guard\): error_rate: [\d.]+ is above the maximum 0\.0200 for 3 sample\(s\) in a row/);
      assert.match(r.stdout, /- \*\*Rollback Triggered\*\*: Yes\n- \*\*Reason \(if Yes\)\*\*: error\\_rate: /);
      assert.match(r.stdout, /- \*\*Trigger → Rollback Start\*\*: \d+ ms \(trigger: guard\)/);
      assert.match(r.stdout, /traffic is on blue; database schema version 1 \(orders columns: id, customer, total_cents\); 40\/40 requests answer 200 now/);
      assert.match(r.stdout, /baseline error_rate: 0\.00 ± 0\.00 from \d+ sample/, 'production was healthy before the release');
      assert.deepEqual(processesIn(r.dir), []);
    } finally {
      fs.rmSync(r.dir, { recursive: true, force: true });
    }
  });
});
