// A real small HTTP service the monitoring tests own: real requests from a load loop, an error
// rate and a request rate the test changes, and its metrics in the Prometheus text format.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { tempDir } from './helpers';
import { freePort, startServer, type TestServer } from './server';
import { startLoad, type LoadRun } from '../../src/core/monitor/loadTraffic';

export class TestService {
  errorRate = 0;
  latencyMs = 0;
  private server!: TestServer;
  private byCode = new Map<string, number>();
  private buckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1].map((le) => ({ le, n: 0 }));
  private count = 0;
  private load?: LoadRun;
  private sent = 0;
  /** What /stats serves; `null` or a string makes the JSON source explain itself. */
  statsValue: unknown = 1;
  garbage = false;
  slowMs = 0;
  port = 0;

  async start(): Promise<this> {
    this.server = await startServer((req, res) => {
      if (req.url === '/metrics') {
        const send = () => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(this.garbage ? 'this is { not prometheus\n' : this.metrics());
        };
        return this.slowMs ? void setTimeout(send, this.slowMs) : send();
      }
      if (req.url === '/stats') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ service: { healthy: this.statsValue } }));
      }
      const t0 = performance.now();
      setTimeout(() => {
        this.sent++;
        const fail = this.errorRate > 0 && this.sent % Math.round(1 / this.errorRate) === 0;
        const code = fail ? 500 : 200;
        res.writeHead(code);
        res.end(fail ? 'error' : 'ok');
        this.observe(String(code), (performance.now() - t0) / 1000);
      }, this.latencyMs);
    });
    this.port = this.server.port;
    return this;
  }

  private observe(code: string, s: number): void {
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
    this.count++;
    for (const b of this.buckets) if (s <= b.le) b.n++;
  }

  /** What the service has served so far, to compare a scrape's figures with: requests by code and the histogram. */
  served(): { at: number; count: number; byCode: Map<string, number>; buckets: { le: number; n: number }[] } {
    return { at: performance.now(), count: this.count, byCode: new Map(this.byCode), buckets: this.buckets.map((b) => ({ ...b })) };
  }

  metrics(): string {
    const l = ['# TYPE http_requests_total counter'];
    for (const [c, n] of this.byCode) l.push(`http_requests_total{code="${c}"} ${n}`);
    l.push('# TYPE http_request_duration_seconds histogram');
    for (const b of this.buckets) l.push(`http_request_duration_seconds_bucket{le="${b.le}"} ${b.n}`);
    l.push(`http_request_duration_seconds_bucket{le="+Inf"} ${this.count}`, `http_request_duration_seconds_count ${this.count}`);
    return l.join('\n') + '\n';
  }

  /** Real requests at `rps` per second (`release-pilot load`'s generator) until changed or stopped. */
  traffic(rps: number): void {
    this.load?.stop();
    this.load = rps > 0 ? startLoad({ url: this.url('/api'), rate: rps }) : undefined;
  }

  url(p: string): string {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  async stop(): Promise<void> {
    const load = this.load;
    this.traffic(0);
    await this.server.close();
    await load?.done;
  }
}

/** A real Prometheus (Debian's package) scraping `target` every second, on a free loopback port. */
export class TestPrometheus {
  proc?: ChildProcess;
  port = 0;

  async start(target: string): Promise<this> {
    const dir = tempDir('rp-prom-');
    this.port = await freePort();
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: service\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    this.proc = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    const failed = new Promise<never>((_, reject) =>
      this.proc!.once('error', (e) => reject(new Error(`prometheus could not start (${e.message}); install it: apt-get install prometheus`))),
    );
    const ready = (async () => {
      for (let i = 0; i < 200; i++) {
        try {
          if ((await fetch(`${this.url}/-/ready`)).ok) return;
        } catch {}
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('prometheus did not become ready in 20 s');
    })();
    await Promise.race([ready, failed]);
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Waits until a query returns a number (the scrapes have filled its range). */
  async waitForValue(query: string, ms = 20_000): Promise<number> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const r = (await (await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as {
        data?: { result?: { value: [number, string] }[] };
      };
      const v = r.data?.result?.[0]?.value?.[1];
      if (v !== undefined && !Number.isNaN(Number(v))) return Number(v);
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`no value for ${query}`);
  }

  stop(): void {
    this.proc?.kill('SIGKILL');
  }
}

/** Requests through the router at `rate` per second (`release-pilot load`'s generator), counted by status until stopped. */
export function countTraffic(port: number, rate = 100, urlPath = '/api/orders'): { readonly codes: Record<string, number>; stop(): Promise<void> } {
  const run = startLoad({ url: `http://127.0.0.1:${port}${urlPath}`, rate, timeoutMs: 5000 });
  return {
    get codes() {
      return run.summary().byStatus;
    },
    stop: async () => {
      run.stop();
      await run.done;
    },
  };
}
