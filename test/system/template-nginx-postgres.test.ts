import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { ROOT, gitRepo, tempDir, write } from '../support/helpers';
import { countTraffic } from '../support/traffic';
import { freePort } from '../support/server';
import { alive, processesIn } from '../support/processes';
import { waitFor } from '../support/waitFor';
import { cliBin, markedBlocks, needsServices, runBlock, type BlockRun } from '../support/guide';

/**
 * The nginx-postgres template, released the way a user would, against a real nginx (a non-daemon
 * master on its own prefix and a free port, switched by `nginx -s reload`) and a real PostgreSQL 15
 * (initdb and postgres as the postgres user, in a temp folder): first docs/guide.md's marked blocks,
 * typed as written into one shell in the user's repository (`init`, the values of the FILL IN block,
 * validate, dry run, the first release, a second one rolled back by hand, status, report), then a
 * good and a faulty release with `release-pilot run --yes`. The database settings reach every step,
 * check, metric and the service itself only through the plan's `env`: this process has no PG*
 * variable. The values filled in carry a quote, a double quote, a $, a space and a backslash (the
 * state folder, the repository's folder, the START command): the template hands them to bash as
 * environment variables, never pasted into a command's text.
 */
const NGINX = '/usr/sbin/nginx';
const PG_BIN = '/usr/lib/postgresql/15/bin';
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** A folder name that breaks any command that pastes it between quotes, or lets the shell expand it. */
const HOSTILE_DIR = `srv it's "q" $HOME \\ x`;
/** A START command with quotes of its own, as a user writes one. */
const START = `node -e 'require("./server.js")'`;

const SERVER = `const http = require('node:http');
const fs = require('node:fs');
const { execFile, execFileSync } = require('node:child_process');
const { PORT, APP_VERSION, APP_COLOR } = process.env;
// The database, as the plan's env describes it (PGHOST, PGPORT, PGDATABASE, PGUSER).
const migrations = execFileSync('psql', ['-qAt', '-c', 'select string_agg(name, \\',\\' order by name) from schema_migrations'], { encoding: 'utf8' }).trim();
const faulty = fs.existsSync(__dirname + '/FAULTY');
let served = 0;
http
  .createServer((req, res) => {
    if (req.url === '/health') return res.end('ok');
    if (req.url === '/api/orders' && req.method === 'POST') {
      // A write with the id the client chose: acknowledged (201) once PostgreSQL committed it.
      let body = '';
      req.on('data', (d) => (body += d));
      return req.on('end', () => {
        const id = Number(JSON.parse(body).id);
        const child = execFile('psql', ['-qAt', '-v', 'ON_ERROR_STOP=1', '-v', 'id=' + id], (err) => {
          res.statusCode = err ? 500 : 201;
          res.end(err ? String(err) : 'ok');
        });
        child.stdin.end("INSERT INTO orders (id, item) VALUES (:'id'::int, 'order')");
      });
    }
    if (req.url === '/api/items') {
      served++;
      // The faulty version passes its health check and its first requests, then fails.
      if (faulty && served > 2) {
        res.statusCode = 500;
        return res.end('broken');
      }
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ version: APP_VERSION, color: APP_COLOR, migrations }));
    }
    res.statusCode = 404;
    res.end();
  })
  .listen(Number(PORT), '127.0.0.1', () => console.log('listening: ' + APP_COLOR + ' ' + APP_VERSION + ' on ' + PORT + ', migrations ' + migrations));
`;

/** The values of the template's FILL IN block, replaced line by line; nothing below the block is touched. */
function fillIn(text: string, values: Record<string, string>): string {
  const start = text.indexOf('# ---- FILL IN ---');
  const end = text.indexOf('# ---- FILL IN ends');
  let block = text.slice(start, end);
  for (const [key, value] of Object.entries(values)) {
    const re = new RegExp(`^(\\s*${key}: ).*$`, 'm');
    assert.match(block, re, `the FILL IN block has ${key}`);
    block = block.replace(re, (_m, head: string) => `${head}${value}`);
  }
  return text.slice(0, start) + block + text.slice(end);
}

interface Run {
  code: number | null;
  out: string;
  err: string;
}

describe('template nginx-postgres: a service behind a real nginx with a real PostgreSQL 15', function () {
  this.timeout(15 * 60_000);
  const children: ChildProcess[] = [];
  let tmp = '';
  let repo = '';
  let stateDir = '';
  let nginxPort = 0;
  let git: (...args: string[]) => string;
  let env: NodeJS.ProcessEnv;
  let pg: ChildProcess;
  let nginx: ChildProcess;
  const pgPort = { n: 0 };
  /** The reader's edit of the FILL IN block, after `init`. */
  let fillValues = () => {};

  const psql = (sql: string, db = 'app', user = 'app') =>
    execFileSync('psql', ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(pgPort.n), '-U', user, '-d', db, '-c', sql], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    }).trim();

  /** What a release must leave as it found it, or change only as its migration says. */
  const snapshot = () => ({
    relations: psql("select relname::text || ':' || relkind::text from pg_class where relnamespace = 'public'::regnamespace order by 1"),
    columns: psql("select table_name || '.' || column_name from information_schema.columns where table_schema = 'public' order by 1"),
    items: psql('select * from items order by id'),
    migrations: psql('select name from schema_migrations order by name'),
    schemas: psql("select string_agg(nspname, ',' order by nspname) from pg_namespace where nspname !~ '^pg_' and nspname <> 'information_schema'"),
    other: psql(
      "select string_agg(table_schema || '.' || table_name || '.' || column_name, ',' order by 1) from information_schema.columns where table_schema not in ('public', 'pg_catalog', 'information_schema')",
    ),
  });

  function cli(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => resolve({ code, out, err }));
    });
  }

  /** A release of what HEAD holds, tagged with its version, as the user runs it. */
  async function release(version: string, message: string, files: Record<string, string>, remove: string[] = []): Promise<Run> {
    const plan = path.join(repo, '.release', 'plan.yaml');
    fs.writeFileSync(plan, fillIn(fs.readFileSync(plan, 'utf8'), { version }));
    for (const [rel, text] of Object.entries(files)) write(repo, rel, text);
    for (const rel of remove) fs.rmSync(path.join(repo, rel));
    git('add', '-A');
    git('commit', '-qm', message);
    git('tag', `v${version}`);
    return cli('run', '--yes');
  }

  /** The guide's marked blocks, in order; each is run once, when the test reaches it. */
  const blocks = markedBlocks();
  let nextBlock = 0;
  let shellEnv: NodeJS.ProcessEnv = {};
  /** The next marked block of the guide, run as written in the repository; it must be the one expected. */
  async function guideBlock(expect: RegExp): Promise<BlockRun & { block: string }> {
    const block = blocks[nextBlock++];
    assert.ok(block !== undefined, `the guide has a block matching ${expect}`);
    assert.match(block, expect, "the guide's blocks come in the order this test follows");
    const r = await runBlock(block, repo, shellEnv, tmp);
    shellEnv = r.env;
    // Later releases of this file run with what the reader's terminal holds now (PGPASSWORD, PATH).
    env = { ...r.env };
    return { ...r, block };
  }

  const live = async () => {
    const r = await fetch(`http://127.0.0.1:${nginxPort}/api/items`);
    return { status: r.status, body: r.status === 200 ? ((await r.json()) as { version: string; color: string; migrations: string }) : undefined };
  };

  function stopInstances(): void {
    if (!stateDir) return;
    for (const c of ['blue', 'green']) {
      const f = path.join(stateDir, `${c}.pid`);
      if (!fs.existsSync(f)) continue;
      try {
        process.kill(-Number(fs.readFileSync(f, 'utf8').trim()), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }

  const killAll = () => {
    stopInstances();
    for (const c of children) if (c.pid && alive(c.pid)) c.kill('SIGKILL');
  };
  process.on('exit', killAll);

  before(async function () {
    for (const bin of [NGINX, `${PG_BIN}/initdb`, `${PG_BIN}/postgres`, '/usr/bin/psql', '/usr/bin/pg_dump', '/usr/bin/pg_restore', '/usr/bin/curl'])
      assert.ok(fs.existsSync(bin), `${bin} is missing: install the Debian packages nginx, postgresql and curl (test/host/install.mjs --system does)`);
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is missing: run node esbuild.mjs');
    tmp = tempDir('rp-np-');
    fs.chmodSync(tmp, 0o755);

    // PostgreSQL refuses root: its folder belongs to the postgres user, and it runs as that user.
    const pgDir = path.join(tmp, 'pg');
    fs.mkdirSync(pgDir);
    execFileSync('chown', ['postgres:postgres', pgDir]);
    const asPostgres = ['--reuid=postgres', '--regid=postgres', '--init-groups', '--'];
    execFileSync('setpriv', [...asPostgres, `${PG_BIN}/initdb`, '-D', `${pgDir}/data`, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'], { stdio: 'ignore' });
    pgPort.n = await freePort();
    pg = spawn(
      'setpriv',
      [...asPostgres, `${PG_BIN}/postgres`, '-D', `${pgDir}/data`, '-p', String(pgPort.n), '-k', pgDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
      { stdio: ['ignore', 'ignore', fs.openSync(path.join(tmp, 'postgres.log'), 'w')] },
    );
    children.push(pg);
    const ready = await waitFor(() => spawnSync(`${PG_BIN}/pg_isready`, ['-q', '-h', '127.0.0.1', '-p', String(pgPort.n)]).status === 0, 60_000, 200);
    assert.ok(ready, `PostgreSQL did not start: ${fs.readFileSync(path.join(tmp, 'postgres.log'), 'utf8')}`);
    psql('create role app login', 'postgres', 'postgres');
    psql('create database app owner app', 'postgres', 'postgres');

    // nginx: a master in the foreground (not a daemon) with its own prefix, config and free port.
    const ngx = path.join(tmp, 'nginx');
    fs.mkdirSync(path.join(ngx, 'tmp'), { recursive: true });
    nginxPort = await freePort();
    const [bluePort, greenPort] = [await freePort(), await freePort()];
    write(ngx, 'upstream.conf', `server 127.0.0.1:${bluePort};\n`);
    write(
      ngx,
      'nginx.conf',
      `worker_processes 1;
pid ${ngx}/nginx.pid;
error_log ${ngx}/error.log;
events { worker_connections 512; }
http {
  access_log ${ngx}/access.log;
  client_body_temp_path ${ngx}/tmp/body;
  proxy_temp_path ${ngx}/tmp/proxy;
  fastcgi_temp_path ${ngx}/tmp/fastcgi;
  uwsgi_temp_path ${ngx}/tmp/uwsgi;
  scgi_temp_path ${ngx}/tmp/scgi;
  upstream app { include ${ngx}/upstream.conf; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / { proxy_pass http://app; }
  }
}
`,
    );
    const nginxCmd = `${NGINX} -p ${ngx}/ -c ${ngx}/nginx.conf`;
    nginx = spawn(NGINX, ['-p', `${ngx}/`, '-c', `${ngx}/nginx.conf`, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(nginx);
    assert.ok(await waitFor(() => fs.existsSync(`${ngx}/nginx.pid`), 20_000, 100), 'nginx did not start');

    // The user's repository: a service, its first migration, the QA verdict, and the template.
    stateDir = path.join(tmp, HOSTILE_DIR);
    repo = path.join(tmp, "the service's repo");
    fs.mkdirSync(repo);
    git = gitRepo(repo);
    write(repo, 'server.js', SERVER);
    write(
      repo,
      'db/migrations/001_items.sql',
      "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\nINSERT INTO items VALUES (1, 'apple'), (2, 'pear');\n" +
        'CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL);\n',
    );
    git('add', '-A');
    git('commit', '-qm', 'feat: items service');
    // QA's verdict, where the plan's acceptance reads it: the guide commits it with the plan.
    write(repo, 'qa/acceptance.md', '# QA\n\nVerdict: Ready for Launch\n');
    // No PG* variable here: the database settings come from the plan's env, the password from the guide's export.
    shellEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
    shellEnv.PATH = `${cliBin(tmp)}:${process.env.PATH}`;
    env = shellEnv;
    fillValues = () => {
      const plan = path.join(repo, '.release', 'plan.yaml');
      fs.writeFileSync(
        plan,
        fillIn(fs.readFileSync(plan, 'utf8'), {
          name: 'items-service',
          START: JSON.stringify(START),
          BLUE_PORT: `"${bluePort}"`,
          GREEN_PORT: `"${greenPort}"`,
          PUBLIC_URL: `http://127.0.0.1:${nginxPort}`,
          CHECK_PATH: '/api/items',
          NGINX_UPSTREAM: `${ngx}/upstream.conf`,
          NGINX: nginxCmd,
          STATE_DIR: JSON.stringify(stateDir),
          PGHOST: '127.0.0.1',
          PGPORT: `"${pgPort.n}"`,
          PGDATABASE: 'app',
          PGUSER: 'app',
          // A short window for a test; the template's default is the spec's 15 minutes.
          window: '12s',
          interval: '2s',
        }),
      );
    };
  });

  after(async () => {
    stopInstances();
    if (nginx?.pid && alive(nginx.pid)) nginx.kill('SIGQUIT');
    // Fast shutdown: PostgreSQL ends its sessions and stops.
    if (pg?.pid && alive(pg.pid)) pg.kill('SIGINT');
    await waitFor(() => children.every((c) => !c.pid || !alive(c.pid)), 30_000, 100);
    killAll();
    process.off('exit', killAll);
    const left = await waitFor(() => processesIn(tmp).length === 0, 10_000, 100);
    assert.ok(left, `processes left running: ${processesIn(tmp).join('\n')}`);
  });

  it("the guide's first blocks as written: init, the values filled in, validate, the password exported, dry run", async () => {
    const init = await guideBlock(/^release-pilot init --template nginx-postgres$/m);
    assert.deepEqual(init.failed, [], init.out + init.err);
    assert.equal(git('status', '--porcelain'), '?? qa/', 'the plan and .gitignore were committed');
    fillValues();
    const checked = await guideBlock(/^release-pilot run --dry-run$/m);
    assert.deepEqual(checked.failed, [], checked.out + checked.err);
    assert.match(checked.out, /\.release\/plan\.yaml: valid/);
    assert.match(checked.out, /Dry run of items-service 1\.0\.0/);
    // The values the commands read as "$PLAN_…" are shown, resolved, with the password masked.
    assert.ok(checked.out.includes(`PLAN_STATE_DIR=${stateDir}`), checked.out);
    assert.match(checked.out, /PGPASSWORD=<env:PGPASSWORD>/);
    assert.doesNotMatch(checked.out + checked.err, /the-database-password/, 'the password from the environment is masked');
    assert.equal(shellEnv.PGPASSWORD, 'the-database-password', "the block's export carries on to the next block, as in one terminal");
    assert.ok(needsServices(blocks[nextBlock]), 'the next block releases');
  });

  it("the guide's first release as written: migration 001, the service on green behind nginx", async () => {
    const r = await guideBlock(/^git tag v1\.0\.0\nrelease-pilot run/m);
    assert.deepEqual(r.failed, [], r.out + r.err);
    const l = await live();
    assert.equal(l.status, 200);
    assert.deepEqual(l.body, { version: '1.0.0', color: 'green', migrations: '001_items.sql' });
    assert.equal(psql('select count(*) from items'), '2');
    assert.ok(fs.existsSync(path.join(stateDir, 'green.pid')), `the state folder is the one filled in, named as written: ${stateDir}`);
    assert.doesNotMatch(r.out + r.err, /the-database-password/);
  });

  it("the guide's rollback rehearsal as written: 1.1.0 released, rolled back by hand to 1.0.0 on green, its migration undone, status and report", async () => {
    // What the guide says in prose before the block: a change (a migration) and `version: 1.1.0`.
    const plan = path.join(repo, '.release', 'plan.yaml');
    fs.writeFileSync(plan, fillIn(fs.readFileSync(plan, 'utf8'), { version: '1.1.0' }));
    write(repo, 'db/migrations/002_rehearsal.sql', 'CREATE TABLE notes (id int PRIMARY KEY, body text);\nALTER TABLE items ADD COLUMN note_id int;\n');
    // Its undo: the rollback's strategy down applies it (and removes 002 from schema_migrations).
    write(repo, 'db/migrations/002_rehearsal.down.sql', 'ALTER TABLE items DROP COLUMN note_id;\nDROP TABLE notes;\n');
    const before = snapshot();
    const traffic = countTraffic(nginxPort, 25, '/api/items');
    const r = await guideBlock(/^git tag v1\.1\.0\nrelease-pilot run --yes\nrelease-pilot rollback --reason "rehearsal"/m);
    await traffic.stop();
    const out = r.out + r.err;
    // A rollback that rolled back exits 3; every other command of the block exits 0.
    assert.deepEqual(
      r.failed.map((f) => [f.status, f.command]),
      [[3, 'release-pilot rollback --reason "rehearsal" --yes']],
      out,
    );
    assert.match(out, /applied 002_rehearsal\.sql|released/i);
    assert.match(r.out, /strategy down: down steps passed/, 'the report names the strategy that kept the data');
    const l = await live();
    assert.deepEqual(l.body, { version: '1.0.0', color: 'green', migrations: '001_items.sql' }, 'nginx points at green again, on 1.0.0');
    assert.deepEqual(snapshot(), before, 'the database is as it was before 1.1.0: its migration undone');
    assert.ok(!fs.existsSync(path.join(stateDir, 'blue.pid')), 'the rolled-back colour was stopped');
    const total = Object.values(traffic.codes).reduce((a, b) => a + b, 0);
    assert.deepEqual(Object.keys(traffic.codes), ['200'], `every request answered 200 through the release and the rollback: ${JSON.stringify(traffic.codes)}`);
    assert.ok(total >= 20, `enough requests were made to mean something: ${total}`);
    // status and report, as the block printed them.
    assert.match(
      r.out,
      /items-service 1\.1\.0 → production: ROLLED-BACK \(rolled back: rehearsal; database: down steps passed, data kept/,
      'status, as the guide quotes it',
    );
    assert.match(r.out, /Reason \(if Yes\)\*\*: rehearsal/, 'the report printed');
    const runs = path.join(repo, '.release', 'runs');
    const runId = fs.readdirSync(runs).sort().at(-1)!;
    assert.match(runId, /1\.1\.0/);
    assert.ok(fs.existsSync(path.join(runs, runId, 'report.md')), 'report wrote report.md');
    assert.match(fs.readFileSync(path.join(runs, runId, 'report.md'), 'utf8'), /rehearsal/);
    assert.doesNotMatch(out, /the-database-password/);
    assert.equal(nextBlock, blocks.length, 'every marked block of the guide was run');
    console.log(`      guide rehearsal: ${total} requests through nginx during the release and the rollback, ${JSON.stringify(traffic.codes)}`);
  });

  it('a good release: its migration applied, nginx switched to blue, monitoring passed, every request answered 200 throughout', async () => {
    const traffic = countTraffic(nginxPort, 25, '/api/items');
    const r = await release('1.2.0', 'feat: prices', { 'db/migrations/002_prices.sql': 'ALTER TABLE items ADD COLUMN price int NOT NULL DEFAULT 0;\n' }, [
      // The rehearsal's change goes, as after a rehearsal.
      'db/migrations/002_rehearsal.sql',
      'db/migrations/002_rehearsal.down.sql',
    ]);
    await traffic.stop();
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out + r.err, /released/i);
    const l = await live();
    assert.deepEqual(l.body, { version: '1.2.0', color: 'blue', migrations: '001_items.sql,002_prices.sql' });
    assert.match(snapshot().columns, /items\.price/);
    const total = Object.values(traffic.codes).reduce((a, b) => a + b, 0);
    assert.deepEqual(Object.keys(traffic.codes), ['200'], `every request answered 200: ${JSON.stringify(traffic.codes)}`);
    assert.ok(total >= 50, `enough requests were made to mean something: ${total}`);
    console.log(`      good release: ${total} requests through nginx during the release, ${JSON.stringify(traffic.codes)}`);
  });

  it('a faulty release whose migration has no undo: monitoring breaches, the rollback switches back and waits; the restore, confirmed, brings back every schema in one transaction', async () => {
    // A database with a schema besides public (the restore once failed on "schema already exists").
    psql('create schema billing; create table billing.invoices (id int primary key, amount int); insert into billing.invoices values (1, 100);');
    const before = snapshot();
    assert.equal(before.schemas, 'billing,public');
    const r = await release('1.3.0', 'feat: items as a view', {
      'db/migrations/003_items_view.sql':
        "ALTER TABLE items RENAME TO items_v1;\nCREATE VIEW items AS SELECT * FROM items_v1;\nINSERT INTO items_v1 VALUES (3, 'plum', 5);\n" +
        'UPDATE billing.invoices SET amount = 0;\nCREATE SCHEMA audit;\nCREATE TABLE audit.log (x int);\n',
      FAULTY: 'this version fails after its first requests\n',
    });
    assert.equal(r.code, 1, `exit 1 (waits for a person before the restore): ${r.out}${r.err}`);
    const held = fs
      .readdirSync(path.join(repo, '.release', 'runs'))
      .sort()
      .at(-1)!;
    const heldLogs = fs
      .readdirSync(path.join(repo, '.release', 'runs', held, 'logs'))
      .map((f) => fs.readFileSync(path.join(repo, '.release', 'runs', held, 'logs', f), 'utf8'))
      .join('\n');
    assert.match(heldLogs, /no undo in db\/migrations for: 003_items_view\.down\.sql; nothing was changed/);
    assert.match(r.out + r.err, /restore would discard (at least )?\d+ writes/);
    assert.equal(snapshot().relations.includes('items:v'), true, 'nothing restored while it waits');
    const confirmed = await cli('rollback', '--restore', '--yes');
    assert.equal(confirmed.code, 3, `exit 3 (rolled back): ${confirmed.out}${confirmed.err}`);
    assert.match(confirmed.out, /strategy down: restored from the backup; writes since the backup: (at least )?\d+/);
    const runs = path.join(repo, '.release', 'runs');
    const runId = fs.readdirSync(runs).sort().at(-1)!;
    const journal = fs
      .readFileSync(path.join(runs, runId, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    const types = journal.map((e) => e.type);
    assert.ok(types.includes('guard.breached'), `monitoring saw the breach: ${types.join(' ')}`);
    const logs = fs.readdirSync(path.join(runs, runId, 'logs')).map((f) => fs.readFileSync(path.join(runs, runId, 'logs', f), 'utf8'));
    assert.ok(
      logs.some((t) => t.includes('applied 003_items_view.sql')),
      'the migration ran before the rollback',
    );
    assert.ok(
      logs.some((t) => t.includes('database restored from')),
      'the restore step ran',
    );
    assert.deepEqual(snapshot(), before, 'the schemas and the data are those before the release');
    assert.equal(psql('select amount from billing.invoices'), '100', "the second schema's data change was undone");
    assert.equal(journal.find((e) => e.type === 'release.finished')?.outcome, 'rolled-back');
    const at = (type: string) => Date.parse(String(journal.find((e) => e.type === type)?.at));
    console.log(
      `      faulty release: breach to rollback start ${at('rollback.started') - at('guard.breached')} ms, rollback ${at('rollback.finished') - at('rollback.started')} ms`,
    );
    const traffic = countTraffic(nginxPort, 25, '/api/items');
    const counted = () => Object.values(traffic.codes).reduce((a, b) => a + b, 0);
    assert.ok(await waitFor(() => counted() >= 100, 20_000), `requests after the rollback: ${JSON.stringify(traffic.codes)}`);
    await traffic.stop();
    assert.deepEqual(Object.keys(traffic.codes), ['200'], `requests after the rollback: ${JSON.stringify(traffic.codes)}`);
    const l = await live();
    assert.deepEqual(l.body, { version: '1.2.0', color: 'blue', migrations: '001_items.sql,002_prices.sql' });
    assert.ok(!fs.existsSync(path.join(stateDir, 'green.pid')), 'the faulty colour was stopped');
  });

  it('a faulty release under a load that writes: strategy down undoes its migration, every acknowledged order is in the database', async () => {
    // Orders posted through nginx with ids the client chooses, one after the other; an id is
    // acknowledged when the service answered 201 (PostgreSQL committed it).
    const acked: number[] = [];
    const failed: string[] = [];
    let writing = true;
    let next = 100_001;
    const writer = (async () => {
      while (writing) {
        const id = next++;
        const r = await fetch(`http://127.0.0.1:${nginxPort}/api/orders`, { method: 'POST', body: JSON.stringify({ id }) }).catch((e: Error) => e);
        if (r instanceof Error) failed.push(`${id}: ${r.message}`);
        else if (r.status === 201) acked.push(id);
        else failed.push(`${id}: ${r.status}`);
      }
    })();
    const before = snapshot().columns;
    // Still FAULTY; 003 (no undo) goes, as after an incident.
    const r = await release(
      '1.3.1',
      'feat: order notes',
      {
        'db/migrations/005_order_notes.sql': 'ALTER TABLE orders ADD COLUMN note text;\n',
        'db/migrations/005_order_notes.down.sql': 'ALTER TABLE orders DROP COLUMN note;\n',
      },
      ['db/migrations/003_items_view.sql'],
    );
    writing = false;
    await writer;
    assert.equal(r.code, 3, `exit 3 (rolled back): ${r.out}${r.err}`);
    const runs = path.join(repo, '.release', 'runs');
    const runId = fs.readdirSync(runs).sort().at(-1)!;
    const logs = fs
      .readdirSync(path.join(runs, runId, 'logs'))
      .map((f) => fs.readFileSync(path.join(runs, runId, 'logs', f), 'utf8'))
      .join('\n');
    assert.match(logs, /applied 005_order_notes\.sql/);
    assert.match(logs, /undone, newest first: 005_order_notes\.sql/);
    assert.match(r.out, /strategy down: down steps passed; writes since the backup: (at least )?\d+; kept: \d+ \/ discarded: 0/);
    assert.equal(snapshot().columns, before, 'the column 005 added is gone');
    assert.equal(psql("select count(*) from schema_migrations where name = '005_order_notes.sql'"), '0');
    assert.ok(acked.length >= 20, `enough orders were acknowledged to mean something: ${acked.length}`);
    const present = psql(`select count(*) from orders where id between 100001 and ${next}`);
    const missing = psql(`select count(*) from unnest(array[${acked.join(',')}]) a(id) where not exists (select 1 from orders o where o.id = a.id)`);
    assert.equal(missing, '0', 'every acknowledged order is in the database');
    assert.ok(Number(present) >= acked.length);
    console.log(`      orders under load: ${acked.length} acknowledged, ${present} in the database after the rollback, ${failed.length} not acknowledged`);
  });

  /** waitFor with an asynchronous condition: up to 20 s. */
  async function until(cond: () => Promise<boolean>): Promise<boolean> {
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (await cond().catch(() => false)) return true;
    return false;
  }

  /** A small HTTP server standing for a process this release did not start, answering as `version`. */
  async function foreignServer(port: number, version: string): Promise<ChildProcess> {
    const code = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(q.url === '/health' ? 'ok' : JSON.stringify({ version: ${JSON.stringify(version)}, color: 'none', migrations: '-' })); }).listen(${port}, '127.0.0.1')`;
    const child = spawn(process.execPath, ['-e', code], { cwd: tmp, stdio: 'ignore' });
    children.push(child);
    assert.ok(await until(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok === true), `${version} server did not start`);
    return child;
  }

  const planValue = (key: string) => new RegExp(`^\\s*${key}: "?(\\d+)"?$`, 'm').exec(fs.readFileSync(path.join(repo, '.release', 'plan.yaml'), 'utf8'))![1];

  it('a first release onto a service already live: the faulty release is rolled back to the upstream that served before, and the confirmed restore brings the database back', async () => {
    // Nothing of this template ran here before: a fresh state folder, nginx on a service started by hand.
    stopInstances();
    stateDir = path.join(tmp, 'fresh state');
    const plan = path.join(repo, '.release', 'plan.yaml');
    fs.writeFileSync(plan, fillIn(fs.readFileSync(plan, 'utf8'), { STATE_DIR: JSON.stringify(stateDir) }));
    const livePort = await freePort();
    const liveServer = await foreignServer(livePort, 'live before release-pilot');
    const ngx = path.join(tmp, 'nginx');
    fs.writeFileSync(path.join(ngx, 'upstream.conf'), `server 127.0.0.1:${livePort};\n`);
    execFileSync(NGINX, ['-p', `${ngx}/`, '-c', `${ngx}/nginx.conf`, '-s', 'reload']);
    assert.ok(await until(async () => (await live()).body?.version === 'live before release-pilot'), 'nginx serves the live service');
    const before = snapshot();
    // Still FAULTY (1.3.0's file stays in the repository).
    const r = await release(
      '1.4.0',
      'feat: billing reset',
      { 'db/migrations/004_billing.sql': 'UPDATE billing.invoices SET amount = 0;\nCREATE TABLE extra (x int);\n' },
      ['db/migrations/005_order_notes.sql', 'db/migrations/005_order_notes.down.sql'],
    );
    // 004 has no undo: the code goes back, and the restore waits for a person.
    assert.equal(r.code, 1, `exit 1 (waits before the restore): ${r.out}${r.err}`);
    assert.equal((await cli('rollback', '--restore', '--yes')).code, 3);
    const runs = path.join(repo, '.release', 'runs');
    const runId = fs.readdirSync(runs).sort().at(-1)!;
    const logs = fs
      .readdirSync(path.join(runs, runId, 'logs'))
      .map((f) => fs.readFileSync(path.join(runs, runId, 'logs', f), 'utf8'))
      .join('\n');
    assert.match(logs, /no version of this service ran on blue before this release/);
    assert.match(logs, /database restored from/);
    assert.deepEqual((await live()).body?.version, 'live before release-pilot', 'nginx serves what it served before the release');
    assert.equal(fs.readFileSync(path.join(ngx, 'upstream.conf'), 'utf8'), `server 127.0.0.1:${livePort};\n`, 'the upstream file as it was');
    assert.deepEqual(snapshot(), before, 'the database as it was');
    assert.equal(psql('select amount from billing.invoices'), '100');
    assert.ok(!fs.existsSync(path.join(stateDir, 'active')), 'no colour recorded as live: none of ours serves');
    assert.ok(!fs.existsSync(path.join(stateDir, 'green.pid')), 'the faulty colour was stopped');
    void liveServer;
  });

  it('a stale process on the idle port: the deploy refuses to start, never released while the old process answers', async () => {
    const greenPort = Number(planValue('GREEN_PORT'));
    const stale = await foreignServer(greenPort, 'stale');
    const before = snapshot();
    const r = await release('1.5.0', 'fix: not faulty', {}, ['FAULTY', 'db/migrations/004_billing.sql']);
    assert.notEqual(r.code, 0, r.out + r.err);
    assert.doesNotMatch(r.out, /■ released/);
    assert.match(r.out + r.err, /port \d+ \(green\) is already taken by a process this release did not start/);
    assert.equal((await live()).body?.version, 'live before release-pilot', 'nginx still serves what it served');
    assert.deepEqual(snapshot(), before);
    stale.kill('SIGKILL');
    for (const c of children) if (c.pid && alive(c.pid) && c !== pg && c !== nginx) c.kill('SIGKILL');
  });
});
