import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { tempDir } from './helpers';
import { alive } from './processes';
import { freePort } from './server';

export const NGINX = '/usr/sbin/nginx';

export interface Nginx {
  dir: string;
  port: number;
  url: string;
  /** The combined log with `$request_time` appended, and the same requests as JSON lines. */
  log: string;
  jsonLog: string;
  master: ChildProcess;
  /** `nginx -s reopen`: the master reopens its logs (USR1). */
  reopen(): void;
  get(pathname: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A real nginx in its own prefix, not a daemon, on a free 127.0.0.1 port: `/ok` answers 200,
 * `/fail` 500, `/missing` 404, `/slow` goes to `upstream` (when given), `/nginx_status` is stub_status.
 */
export async function startNginx(upstreamPort?: number): Promise<Nginx> {
  const dir = tempDir('rp-nginx-');
  const port = await freePort();
  fs.mkdirSync(path.join(dir, 'logs'));
  // Run as root, nginx's workers are nobody: on a reopen they open the new log themselves.
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(path.join(dir, 'logs'), 0o755);
  const log = path.join(dir, 'logs', 'access.log');
  const jsonLog = path.join(dir, 'logs', 'access.json');
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 64; }
http {
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time';
  log_format js escape=json '{"status":"$status","request_time":"$request_time","uri":"$request_uri"}';
  server {
    listen 127.0.0.1:${port};
    access_log ${log} timed;
    access_log ${jsonLog} js;
    location = /ok { return 200 "ok\\n"; }
    location = /fail { return 500; }
    location = /missing { return 404; }
    location = /nginx_status { stub_status; access_log off; }
    ${upstreamPort ? `location = /slow { proxy_pass http://127.0.0.1:${upstreamPort}; }` : ''}
  }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const master = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  master.stderr.on('data', (d) => (stderr += d));
  let up = false;
  for (const end = Date.now() + 10_000; !up && Date.now() < end && master.exitCode === null;) {
    up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  if (!up) {
    master.kill('SIGKILL');
    throw new Error(`nginx did not start: ${stderr}`);
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    dir,
    port,
    url,
    log,
    jsonLog,
    master,
    reopen: () => process.kill(master.pid!, 'SIGUSR1'),
    get: async (p) => {
      const res = await fetch(url + p);
      await res.arrayBuffer();
      return res.status;
    },
    stop: async () => {
      if (master.exitCode === null && master.signalCode === null) {
        const exited = new Promise((r) => master.once('exit', r));
        master.kill('SIGQUIT');
        // Waits for nginx, a real process, to finish its graceful stop; after 10 s it is killed.
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (alive(master.pid!)) master.kill('SIGKILL');
      }
    },
  };
}

/** The number of complete lines in a file (0 when it is missing). */
export function lineCount(file: string): number {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}
