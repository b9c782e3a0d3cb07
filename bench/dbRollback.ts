// How long a rollback takes per database strategy, on SQLite (the demo's database) and on MariaDB
// (the apache-mariadb template's backup and restore commands: mariadb-dump --single-transaction and
// the mariadb client), with a table of 10,000 orders and 100 written since the backup.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Release } from '../src/core/engine/run/engine';
import { parsePlan } from '../src/core/plan/load';
import { startMariadb } from '../test/support/databases';
import { scripted, smallPlan } from '../test/support/fixtures';

export interface DbRollbackFigure {
  engine: string;
  strategy: string;
  /** Median of the rollback's own duration (code steps and database part), as the journal has it. */
  ms: number;
  /** What the database part said, of the last run (carried forward, discarded). */
  said: string;
  samples: number;
}

const ROWS = 10_000;
const WRITES = 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Db {
  name: string;
  /** A shell command running SQL, as a step runs it. */
  sql: (text: string) => string;
  backup: string;
  restore: string;
  writes: string;
  env: string;
  /** Runs SQL from the bench itself. */
  direct: (text: string) => void;
}

function seed(db: Db) {
  db.direct('DROP TABLE IF EXISTS orders');
  db.direct('CREATE TABLE orders (id INTEGER PRIMARY KEY, item VARCHAR(40) NOT NULL)');
  const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, 'item ${i + 1}')`);
  for (let i = 0; i < values.length; i += 1000) db.direct(`INSERT INTO orders VALUES ${values.slice(i, i + 1000).join(', ')}`);
}

const STRATEGIES: [string, (db: Db) => string][] = [
  ['code-only', (db) => `    strategy: code-only\n${db.writes}`],
  [
    'down',
    (db) =>
      `    strategy: down\n    down:\n      - name: undo the migration\n        run: ${JSON.stringify(db.sql('ALTER TABLE orders DROP COLUMN region'))}\n${db.writes}`,
  ],
  [
    'restore, writes carried forward',
    (db) =>
      `    strategy: restore\n    allowDataLoss: a bench database nobody reads\n    restore:\n      - name: restore the backup\n        run: ${JSON.stringify(db.restore)}\n${db.writes}`,
  ],
  [
    'restore alone (carryForward false)',
    (db) =>
      `    strategy: restore\n    carryForward: false\n    allowDataLoss: a bench database nobody reads\n    restore:\n      - name: restore the backup\n        run: ${JSON.stringify(db.restore)}\n${db.writes}`,
  ],
];

async function once(db: Db, database: string): Promise<{ ms: number; said: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-bench-db-'));
  seed(db);
  const writer = `${db.sql(`INSERT INTO orders (id, item, region) VALUES ${Array.from({ length: WRITES }, (_, i) => `(${ROWS + 1 + i}, 'new', 'us')`).join(', ')}`)} && exit 9`;
  const planText = smallPlan({
    deploy: `    steps:\n      - name: deploy and take writes\n        run: ${JSON.stringify(writer)}`,
    rollback: `    - name: code back\n      run: rm -f deployed.txt\n  database:\n${database}`,
    extra: db.env,
  })
    .replace(`mkdir -p "$(dirname '\${backup.path}')" && cp state.txt '\${backup.path}'`, `mkdir -p "$(dirname '\${backup.path}')" && ${db.backup}`)
    .replace('run: echo migrated >> state.txt', `run: ${JSON.stringify(db.sql("ALTER TABLE orders ADD COLUMN region VARCHAR(8) NOT NULL DEFAULT 'eu'"))}`);
  fs.mkdirSync(path.join(dir, '.release'), { recursive: true });
  const planFile = path.join(dir, '.release', 'plan.yaml');
  fs.writeFileSync(planFile, planText);
  for (const [k, v] of Object.entries({ 'verdict.txt': 'Ready for Launch\n', 'migrations/001.sql': 'x', 'state.txt': 'v1\n' })) {
    fs.mkdirSync(path.dirname(path.join(dir, k)), { recursive: true });
    fs.writeFileSync(path.join(dir, k), v);
  }
  const plan = parsePlan(planText, planFile);
  if (!plan.ok) throw new Error(plan.problems.map((p) => p.message).join('\n'));
  const r = await Release.start({
    planFile,
    plan: plan.plan,
    planText,
    workspace: dir,
    prompter: scripted({ failure: [{ action: 'rollback' }] }),
    user: 'bench',
    holder: 'bench',
  });
  const s = await r.run();
  if (s.status !== 'rolled-back') throw new Error(`${db.name}: the rollback ended ${s.status}: ${s.outcomeMessage}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return { ms: s.rollback?.durationMs ?? NaN, said: s.rollback?.database?.message ?? '' };
}

export async function dbRollbackFigures(samples: number): Promise<DbRollbackFigure[]> {
  const out: DbRollbackFigure[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-bench-dbs-'));
  const file = path.join(tmp, 'app.db');
  const sqlite: Db = {
    name: 'SQLite (the demo)',
    sql: (t) => `sqlite3 '${file}' ${JSON.stringify(t)}`,
    backup: `sqlite3 '${file}' ".backup '\${backup.path}'"`,
    restore: `cp '\${backup.path}' '${file}'`,
    writes: `    writes: { sqlite: "${file}" }`,
    env: '',
    direct: (t) => void execFileSync('sqlite3', [file, t]),
  };
  const maria = await startMariadb(tmp);
  const m = (t: string) => `mariadb --no-defaults --socket='${maria.socket}' -u root app -e ${JSON.stringify(t)}`;
  const mariadb: Db = {
    name: 'MariaDB (the apache-mariadb template)',
    sql: m,
    backup: `mariadb-dump --no-defaults --single-transaction --socket='${maria.socket}' -u root app > '\${backup.path}'`,
    restore: `mariadb --no-defaults --socket='${maria.socket}' -u root app < '\${backup.path}'`,
    writes: `    writes:\n      mysql: { socket: "${maria.socket}", user: root, database: app }`,
    env: '',
    direct: (t) => void maria.sql(t),
  };
  try {
    for (const db of [sqlite, mariadb])
      for (const [strategy, database] of STRATEGIES) {
        const runs: number[] = [];
        let said = '';
        for (let i = 0; i < samples; i++) {
          const r = await once(db, database(db));
          runs.push(r.ms);
          said = r.said;
        }
        out.push({ engine: db.name, strategy, ms: median(runs), said, samples });
      }
  } finally {
    await maria.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}
