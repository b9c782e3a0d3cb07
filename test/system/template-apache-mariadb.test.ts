import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { ROOT, gitRepo, tempDir, write } from '../support/helpers';
import { freePort } from '../support/server';
import { alive, processesIn } from '../support/processes';
import { startMariadb, type DbServer } from '../support/databases';
import { waitFor } from '../support/waitFor';

/**
 * The apache-mariadb template, released the way a user would: `init` into a git repository holding
 * a small Node orders service with knex migrations, against a real Apache httpd (Debian's apache2
 * as its own instance, mod_proxy, reloaded with -k graceful), a real MariaDB and the real knex and
 * mysql2 from npm. The first release adopts a service Apache already proxies to; 1.1.0 adds a
 * column, takes orders under a load that writes, breaches and is rolled back: knex migrate:rollback
 * undoes its batch and every acknowledged order is still in the database.
 */
const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Where knex and mysql2 are installed: this repository's devDependencies (or RP_TEST_NODE_MODULES, a folder holding both). */
function nodeModules(): string {
  const extra = process.env.RP_TEST_NODE_MODULES;
  const pkg = require.resolve('knex/package.json', { paths: [ROOT, ...(extra ? [path.dirname(extra)] : [])] });
  return path.dirname(path.dirname(pkg));
}

const SERVER = `const http = require('node:http');
const fs = require('node:fs');
const mysql = require('mysql2/promise');
const { PORT, APP_VERSION, APP_COLOR, DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME } = process.env;
const pool = mysql.createPool({ host: DB_HOST, port: Number(DB_PORT), user: DB_USER, password: DB_PASSWORD, database: DB_NAME, connectionLimit: 4 });
const faulty = fs.existsSync(__dirname + '/FAULTY');
const region = fs.existsSync(__dirname + '/REGION');
let served = 0;
http
  .createServer((req, res) => {
    if (req.url === '/health') return res.end('ok');
    if (req.url === '/api/version') {
      served++;
      // The faulty version passes its health check and its first requests, then fails.
      if (faulty && served > 2) { res.statusCode = 500; return res.end('broken'); }
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ version: APP_VERSION, color: APP_COLOR }));
    }
    if (req.url === '/api/orders' && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => (body += d));
      return req.on('end', async () => {
        const id = Number(JSON.parse(body).id);
        try {
          // 1.1.0 fills the column its migration added; 1.0.0 does not know it.
          if (region) await pool.execute('INSERT INTO orders (id, item, region) VALUES (?, ?, ?)', [id, 'order', 'eu']);
          else await pool.execute('INSERT INTO orders (id, item) VALUES (?, ?)', [id, 'order']);
          res.statusCode = 201;
          res.end('ok');
        } catch (e) {
          res.statusCode = 500;
          res.end(String(e));
        }
      });
    }
    res.statusCode = 404;
    res.end();
  })
  .listen(Number(PORT), '127.0.0.1', () => console.log('listening: ' + APP_COLOR + ' ' + APP_VERSION + ' on ' + PORT));
`;

const KNEXFILE = `module.exports = {
  client: 'mysql2',
  connection: { host: process.env.DB_HOST, port: Number(process.env.DB_PORT), user: process.env.DB_USER, password: process.env.DB_PASSWORD, database: process.env.DB_NAME },
  migrations: { directory: './migrations' },
};
`;

const ORDERS_MIGRATION = `exports.up = (knex) => knex.schema.createTable('orders', (t) => { t.integer('id').primary(); t.string('item', 40).notNullable(); });
exports.down = (knex) => knex.schema.dropTable('orders');
`;
/** Expand: a column the old version's inserts do not fill (it has a default). */
const REGION_MIGRATION = `exports.up = (knex) => knex.schema.alterTable('orders', (t) => { t.string('region', 8).notNullable().defaultTo('us'); });
exports.down = (knex) => knex.schema.alterTable('orders', (t) => { t.dropColumn('region'); });
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

describe('template apache-mariadb: a Node service behind a real Apache httpd with a real MariaDB and knex', function () {
  this.timeout(10 * 60_000);
  const children: ChildProcess[] = [];
  let tmp = '';
  let repo = '';
  let stateDir = '';
  let apacheConf = '';
  let apachePort = 0;
  let db: DbServer;
  let git: (...args: string[]) => string;
  let env: NodeJS.ProcessEnv;

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

  async function release(version: string, message: string, files: Record<string, string>, remove: string[] = []): Promise<Run> {
    const plan = path.join(repo, '.release', 'plan.yaml');
    fs.writeFileSync(plan, fillIn(fs.readFileSync(plan, 'utf8'), { version }));
    for (const [rel, text] of Object.entries(files)) write(repo, rel, text);
    for (const rel of remove) fs.rmSync(path.join(repo, rel));
    git('add', '-A');
    git('commit', '--allow-empty', '-qm', message);
    git('tag', `v${version}`);
    return cli('run', '--yes');
  }

  /** The step logs of the newest run. */
  const runLogs = () => {
    const runs = path.join(repo, '.release', 'runs');
    const dir = path.join(runs, fs.readdirSync(runs).sort().at(-1)!, 'logs');
    return fs
      .readdirSync(dir)
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
  };

  const live = async () => {
    const r = await fetch(`http://127.0.0.1:${apachePort}/api/version`);
    return { status: r.status, body: r.status === 200 ? ((await r.json()) as { version: string; color: string }) : undefined };
  };

  /** waitFor with an asynchronous condition: up to 20 s. */
  async function until(cond: () => Promise<boolean>): Promise<boolean> {
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (await cond().catch(() => false)) return true;
    return false;
  }

  function stopInstances(): void {
    for (const c of ['blue', 'green']) {
      const f = path.join(stateDir, `${c}.pid`);
      if (!stateDir || !fs.existsSync(f)) continue;
      try {
        process.kill(-Number(fs.readFileSync(f, 'utf8').trim()), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  const apache = (...args: string[]) => execFileSync(APACHE, ['-f', apacheConf, ...args], { stdio: 'pipe', encoding: 'utf8' });
  const killAll = () => {
    stopInstances();
    for (const c of children) if (c.pid && alive(c.pid)) c.kill('SIGKILL');
  };
  process.on('exit', killAll);

  before(async function () {
    for (const bin of [APACHE, `${MODULES}/mod_proxy.so`, `${MODULES}/mod_proxy_http.so`, '/usr/sbin/mariadbd', '/usr/bin/mariadb-dump', '/usr/bin/curl'])
      assert.ok(fs.existsSync(bin), `${bin} is missing: install the Debian packages apache2, mariadb-server and curl`);
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is missing: run node esbuild.mjs');
    tmp = tempDir('rp-am-');
    db = await startMariadb(tmp);
    db.sql("CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'the-db-password'");
    db.sql("GRANT ALL ON app.* TO 'app'@'127.0.0.1'");
    const dbPort = Number(/^\d+$/.exec(db.sql('SELECT @@port'))![0]);

    // Apache: its own instance, config, pid file and free port; it proxies to what live.conf says.
    const ap = path.join(tmp, 'apache');
    fs.mkdirSync(ap);
    apachePort = await freePort();
    const adoptedPort = await freePort();
    write(ap, 'live.conf', `ProxyPass / http://127.0.0.1:${adoptedPort}/ retry=0\nProxyPassReverse / http://127.0.0.1:${adoptedPort}/\n`);
    apacheConf = write(
      ap,
      'httpd.conf',
      `ServerRoot ${ap}
ServerName 127.0.0.1
Listen 127.0.0.1:${apachePort}
PidFile ${ap}/httpd.pid
DefaultRuntimeDir ${ap}
Mutex file:${ap}
ErrorLog ${ap}/error.log
LogLevel warn
User nobody
Group nogroup
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule proxy_module ${MODULES}/mod_proxy.so
LoadModule proxy_http_module ${MODULES}/mod_proxy_http.so
Include ${ap}/live.conf
`,
    );
    // A service already running some other way, which Apache serves before the first release.
    const code = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ version: 'before release-pilot', color: 'none' })); }).listen(${adoptedPort}, '127.0.0.1')`;
    children.push(spawn(process.execPath, ['-e', code], { cwd: tmp, stdio: 'ignore' }));
    apache('-k', 'start');
    assert.ok(await until(async () => (await live()).body?.version === 'before release-pilot'), 'Apache serves the service running before');

    stateDir = path.join(tmp, 'state');
    repo = path.join(tmp, 'orders');
    fs.mkdirSync(repo);
    git = gitRepo(repo);
    write(repo, 'server.js', SERVER);
    write(repo, 'knexfile.js', KNEXFILE);
    write(repo, 'package.json', JSON.stringify({ name: 'orders', private: true, dependencies: { knex: '3.3.0', mysql2: '3.26.1' } }, null, 2));
    write(repo, 'migrations/20250101000000_orders.js', ORDERS_MIGRATION);
    write(repo, 'qa/acceptance.md', '# QA\n\nVerdict: Ready for Launch\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: orders service');
    env = { ...process.env, DB_PASSWORD: 'the-db-password' };
    const init = await cli('init', '--template', 'apache-mariadb');
    assert.equal(init.code, 0, init.err);
    const plan = path.join(repo, '.release', 'plan.yaml');
    const [blue, green] = [await freePort(), await freePort()];
    fs.writeFileSync(
      plan,
      fillIn(fs.readFileSync(plan, 'utf8'), {
        name: 'orders',
        // The project's install: knex and mysql2 as this repository installed them (no registry in a test).
        BUILD: JSON.stringify(`ln -s ${nodeModules()} node_modules`),
        BLUE_PORT: `"${blue}"`,
        GREEN_PORT: `"${green}"`,
        PUBLIC_URL: `http://127.0.0.1:${apachePort}`,
        CHECK_PATH: '/api/version',
        APACHE: JSON.stringify(`${APACHE} -f ${apacheConf}`),
        APACHE_LIVE: `${ap}/live.conf`,
        STATE_DIR: stateDir,
        DB_HOST: '127.0.0.1',
        DB_PORT: `"${dbPort}"`,
        DB_NAME: 'app',
        DB_USER: 'app',
        window: '10s',
        interval: '2s',
      }),
    );
    git('add', '-A');
    git('commit', '-qm', 'chore: release plan');
  });

  after(async () => {
    stopInstances();
    try {
      apache('-k', 'stop');
    } catch {
      // not running
    }
    await db?.stop();
    // Waits for Apache, MariaDB and the services to end.
    await waitFor(() => processesIn(tmp).length === 0, 20_000, 100);
    killAll();
    process.off('exit', killAll);
    assert.deepEqual(processesIn(tmp), []);
  });

  it('1.0.0 adopts the service Apache already serves: its tag copied and built, knex migrates, Apache switched to green', async () => {
    const r = await release('1.0.0', 'release 1.0.0', {});
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(runLogs(), /applied batch 1/);
    assert.deepEqual((await live()).body, { version: '1.0.0', color: 'green' });
    assert.equal(db.sql('SELECT COUNT(*) FROM orders'), '0');
    assert.ok(fs.existsSync(path.join(stateDir, 'releases', '1.0.0', 'node_modules')), 'BUILD ran in the copy');
  });

  it('a faulty 1.1.0 under a load that writes: its column added, Apache switched, breach, knex migrate:rollback; every acknowledged order is there and Apache serves 1.0.0', async () => {
    const acked: number[] = [];
    let notAcked = 0;
    let writing = true;
    let next = 1;
    const writer = (async () => {
      while (writing) {
        const id = next++;
        const r = await fetch(`http://127.0.0.1:${apachePort}/api/orders`, { method: 'POST', body: JSON.stringify({ id }) }).catch(() => undefined);
        if (r?.status === 201) acked.push(id);
        else notAcked++;
      }
    })();
    // An uncommitted file in the working tree: the tag is what is copied, not the working tree.
    write(repo, 'UNTRACKED-NOTE', 'not in the tag\n');
    fs.appendFileSync(path.join(repo, '.git', 'info', 'exclude'), 'UNTRACKED-NOTE\n');
    const r = await release('1.1.0', 'feat: order regions', {
      'migrations/20250201000000_region.js': REGION_MIGRATION,
      REGION: 'this version writes the region\n',
      FAULTY: 'this version fails after its first requests\n',
    });
    writing = false;
    await writer;
    assert.equal(r.code, 3, `exit 3 (rolled back): ${r.out}${r.err}`);
    assert.match(runLogs(), /applied batch 2/);
    assert.match(r.out, /strategy down: down steps passed; writes since the backup: (at least )?\d+; kept: \d+ \/ discarded: 0/);
    assert.ok(!fs.existsSync(path.join(stateDir, 'releases', '1.1.0', 'UNTRACKED-NOTE')), 'the copy is the tag');
    assert.deepEqual((await live()).body, { version: '1.0.0', color: 'green' }, 'Apache serves 1.0.0 again');
    assert.equal(
      db.sql("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'region'"),
      '0',
    );
    assert.equal(db.sql('SELECT MAX(batch) FROM knex_migrations'), '1');
    assert.ok(acked.length >= 20, `enough orders were acknowledged to mean something: ${acked.length}`);
    const stored = new Set(db.sql('SELECT id FROM orders').split('\n').map(Number));
    assert.deepEqual(
      acked.filter((id) => !stored.has(id)),
      [],
      'every acknowledged order is in the database',
    );
    const runs = path.join(repo, '.release', 'runs');
    const journal = fs
      .readFileSync(path.join(runs, fs.readdirSync(runs).sort().at(-1)!, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; at: string });
    const at = (type: string) => Date.parse(String(journal.find((e) => e.type === type)?.at));
    console.log(
      `      orders under load: ${acked.length} acknowledged, ${db.sql('SELECT COUNT(*) FROM orders')} in the database, ${notAcked} not acknowledged; rollback (strategy down) ${at('rollback.finished') - at('rollback.started')} ms`,
    );
    // A good release afterwards: the same migration, the right code.
    const good = await release('1.2.0', 'fix: order regions', {}, ['FAULTY']);
    assert.equal(good.code, 0, good.out + good.err);
    assert.deepEqual((await live()).body, { version: '1.2.0', color: 'blue' });
  });
});
