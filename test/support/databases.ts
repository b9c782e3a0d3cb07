import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './server';
import { waitFor } from './waitFor';
import { alive } from './processes';

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A database server the test started in its own folder, on loopback; `sql` returns the rows' text. */
export interface DbServer {
  /** Environment a step's client (psql, mariadb) connects with. */
  env: Record<string, string>;
  sql(text: string): string;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.pid && alive(child.pid)) child.kill(signal);
  // Waits for the server process to end (a fast shutdown), then kills it.
  const gone = await waitFor(() => !child.pid || !alive(child.pid), 30_000, 100);
  if (!gone && child.pid) child.kill('SIGKILL');
}

/** PostgreSQL 15 as the postgres user (it refuses root), trust auth on 127.0.0.1, database `app` owned by role `app`. */
export async function startPostgres(dir: string): Promise<DbServer & { port: number; start(): Promise<void> }> {
  const pgDir = path.join(dir, 'pg');
  fs.mkdirSync(pgDir);
  fs.chmodSync(dir, 0o755);
  execFileSync('chown', ['postgres:postgres', pgDir]);
  const asPostgres = ['--reuid=postgres', '--regid=postgres', '--init-groups', '--'];
  execFileSync('setpriv', [...asPostgres, `${PG_BIN}/initdb`, '-D', `${pgDir}/data`, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'], { stdio: 'ignore' });
  const port = await freePort();
  const log = path.join(dir, 'postgres.log');
  let child: ChildProcess;
  const start = async () => {
    child = spawn(
      'setpriv',
      [...asPostgres, `${PG_BIN}/postgres`, '-D', `${pgDir}/data`, '-p', String(port), '-k', pgDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
      {
        stdio: ['ignore', 'ignore', fs.openSync(log, 'a')],
      },
    );
    // Waits for a real PostgreSQL to accept connections.
    const ready = await waitFor(() => spawnSync(`${PG_BIN}/pg_isready`, ['-q', '-h', '127.0.0.1', '-p', String(port)]).status === 0, 60_000, 200);
    if (!ready) throw new Error(`PostgreSQL did not start: ${fs.readFileSync(log, 'utf8')}`);
  };
  fs.writeFileSync(log, '');
  await start();
  const as = (user: string, db: string, text: string) =>
    execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', db, '-c', text], {
      encoding: 'utf8',
    }).trim();
  as('postgres', 'postgres', 'create role app login');
  as('postgres', 'postgres', 'create database app owner app');
  return {
    port,
    env: { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'app', PGDATABASE: 'app' },
    sql: (text) => as('app', 'app', text),
    // Fast shutdown: PostgreSQL ends its sessions and stops.
    stop: () => stopChild(child, 'SIGINT'),
    // Starts it again on its port and data (after a stop).
    start,
  };
}

/** MariaDB on its own socket and a loopback port, as root over the socket, database `app`. */
export async function startMariadb(dir: string): Promise<DbServer & { socket: string }> {
  const data = path.join(dir, 'mariadb');
  const socket = path.join(dir, 'mariadb.sock');
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db'], {
    stdio: 'ignore',
  });
  const port = await freePort();
  const log = path.join(dir, 'mariadb.log');
  const child = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--user=root',
      `--pid-file=${path.join(dir, 'mariadb.pid')}`,
      '--innodb-flush-log-at-trx-commit=2',
    ],
    { stdio: ['ignore', 'ignore', fs.openSync(log, 'w')] },
  );
  const cli = (text: string, db?: string) =>
    spawnSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root', '--batch', '--skip-column-names', ...(db ? [db] : []), '-e', text], {
      encoding: 'utf8',
    });
  // Waits for a real MariaDB to accept connections.
  const ready = await waitFor(() => cli('SELECT 1').status === 0, 60_000, 200);
  if (!ready) throw new Error(`MariaDB did not start: ${fs.readFileSync(log, 'utf8')}`);
  cli('CREATE DATABASE app');
  return {
    socket,
    env: { RP_MARIADB_SOCKET: socket },
    sql: (text) => {
      const r = cli(text, 'app');
      if (r.status !== 0) throw new Error(`mariadb: ${r.stderr}`);
      return r.stdout.trim();
    },
    stop: () => stopChild(child, 'SIGTERM'),
  };
}
