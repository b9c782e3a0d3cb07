#!/usr/bin/env node
// The fleet demo: production (v1.0.0 on four hosts behind HAProxy, Prometheus, steady traffic)
// from environment.mjs, then v1.1.0 released through the release-pilot CLI as a canary
// (.release/canary.yaml: h1 at 10 % and 50 % of the traffic, then Ansible's rolling deploy of the
// others). `--bad` releases a faulty 1.1.0 whose errors show only under traffic: the canary's
// analysis catches them and rolls back (exit 3). `--rolling` releases with .release/plan.yaml
// (Ansible's rolling deploy of every host, no canary). `--keep` keeps the workspace.
// Prints the traffic by phase: requests, non-2xx answers, connection errors, by server; and the
// writes: each one acknowledged, read back through HAProxy ("acknowledged writes: N,
// present after rollback: N, lost: 0").
// Every process it started is stopped at the end, on Ctrl+C and on failure.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FleetEnvironment } from './environment.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const argv = process.argv.slice(2);
const bad = argv.includes('--bad');
const canary = !argv.includes('--rolling');
const keep = argv.includes('--keep');
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const say = (m) => console.log(`\x1b[36m[fleet]\x1b[0m ${m}`);
const env = new FleetEnvironment({ bad, rps: opt('--rps') ? Number(opt('--rps')) : undefined, monitoringWindow: opt('--window') });
let expectedOutcome = false;
let cli;

function runCli(args) {
  return new Promise((resolve) => {
    cli = spawn(process.execPath, [CLI, ...args], { cwd: env.dir, stdio: 'inherit', env: env.env });
    cli.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** What the journal says of the rollback: its trigger, start latency and duration. */
function rollbackOf(dir) {
  const runs = path.join(dir, '.release', 'runs');
  const newest = fs.existsSync(runs) ? fs.readdirSync(runs).sort().pop() : undefined;
  if (!newest) return undefined;
  const events = fs
    .readFileSync(path.join(runs, newest, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const started = events.find((e) => e.type === 'rollback.started');
  const finished = events.find((e) => e.type === 'rollback.finished');
  if (!started) return undefined;
  return {
    trigger: started.trigger,
    reason: started.reason,
    latencyMs: started.latencyMs,
    durationMs: finished?.durationMs ?? (finished ? Date.parse(finished.at) - Date.parse(started.at) : undefined),
    outcome: finished?.outcome,
  };
}

function printLoad(load) {
  if (!load) return say('no traffic counts');
  say(`traffic: ${load.answered} requests in ${load.seconds.toFixed(1)} s = ${load.achievedRps.toFixed(1)} req/s through HAProxy`);
  const rows = [['phase', 'requests', 'non-2xx', 'conn errors', 'by server (ok/failed)']];
  for (const [phase, c] of Object.entries(load.counts)) {
    rows.push([
      phase,
      String(c.requests),
      String(c.non2xx),
      String(c.connErrors),
      Object.entries(c.byServer)
        .sort()
        .map(([s, v]) => `${s} ${v.ok}/${v.failed}`)
        .join('  '),
    ]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log('  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  '));
}

async function main() {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `node esbuild.mjs` first');
  const t0 = Date.now();
  await env.start();
  say(`workspace ${env.dir} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  say(
    `production: orders-service v1.0.0 on ${env.hosts.map((h) => `${h.name} ${h.addr}:${h.servicePort} (sshd :${h.sshPort})`).join(', ')}; HAProxy :${env.ports.HAPROXY_PORT}, exporter :${env.ports.HAPROXY_METRICS_PORT}, Prometheus :${env.ports.PROMETHEUS_PORT}; ${env.rps} requests/s; releasing ${bad ? 'a FAULTY ' : ''}v1.1.0${canary ? ' as a canary' : ''}`,
  );
  const plan = path.join(env.dir, '.release', canary ? 'canary.yaml' : 'plan.yaml');
  const vars = ['--var', `HAPROXY_PORT=${env.ports.HAPROXY_PORT}`, '--var', `PROMETHEUS_URL=${env.prometheusUrl}`];
  if (canary) {
    const v = spawnSync(process.execPath, [CLI, 'validate', '--plan', plan], { cwd: env.dir, encoding: 'utf8', env: env.env });
    if (v.status !== 0) {
      say(`canary.yaml does not validate with this build (strategy: canary is not in its schema yet?):\n${v.stdout}${v.stderr}`);
      return 2;
    }
  }
  const args = ['run', '--plan', plan, '--yes', '--tick', 'on-call', ...vars];
  say(`$ release-pilot ${args.join(' ')}\n`);
  const started = Date.now();
  const code = await runCli(args);
  const seconds = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const load = await env.stopLoad();
  console.log('');
  say(`release-pilot exited ${code} after ${seconds.toFixed(1)} s`);
  printLoad(load);
  const rb = rollbackOf(env.dir);
  if (rb) say(`rollback (${rb.trigger}): started ${rb.latencyMs} ms after the trigger, took ${(rb.durationMs / 1000).toFixed(1)} s, ${rb.outcome}`);
  const versions = env.versions();
  const servers = env.haproxyServers();
  say(
    `hosts: ${Object.entries(versions)
      .map(([h, v]) => `${h} ${v} ${servers[h]?.status}`)
      .join(', ')}`,
  );
  // Where the guards breached, as the rollback's reason says (`canary at 10 % (step 1/2): …`).
  if (rb?.trigger === 'guard') say(`breach seen: ${rb.reason}`);
  // What failed outside the canary: answers of another host than h1 (a canary's errors are its share).
  const outsideCanary = load
    ? Object.values(load.counts).reduce(
        (a, c) => a + Object.entries(c.byServer).reduce((b, [srv, v]) => b + (srv === 'h1' ? 0 : v.failed), 0) + c.connErrors,
        0,
      )
    : -1;
  if (canary) say(`failed requests outside the canary's share (another host's non-2xx, or a connection error): ${outsideCanary}`);
  // Every write HAProxy acknowledged, read back once the traffic stopped (release-pilot load --check-writes).
  const writes = load?.writesCheck ?? { acknowledged: 0, lost: -1, line: 'no count of the writes' };
  say(writes.error ? `${writes.line} (${writes.error})` : writes.line);
  const want = bad ? '1.0.0' : '1.1.0';
  const failedByMechanics = load ? Object.values(load.counts).reduce((a, c) => a + c.connErrors, 0) : -1;
  expectedOutcome =
    code === (bad ? 3 : 0) &&
    Object.values(versions).every((v) => v === want) &&
    Object.values(servers).every((s) => s.status === 'UP') &&
    failedByMechanics === 0 &&
    writes.acknowledged > 0 &&
    writes.lost === 0 &&
    (!canary || outsideCanary === 0);
  const summary = { code, seconds, rollback: rb, versions, load };
  fs.writeFileSync(path.join(env.dir, 'fleet-demo-result.json'), JSON.stringify(summary, null, 1));
  say(
    expectedOutcome
      ? `as expected: ${bad ? 'the faulty release was rolled back: every host runs v1.0.0 again' : 'v1.1.0 runs on every host'}, no connection error, no acknowledged write lost`
      : `UNEXPECTED: exit ${code}, versions ${JSON.stringify(versions)}, connection errors ${failedByMechanics}, ${writes.line}`,
  );
  return expectedOutcome ? code : 1;
}

let exiting = false;
async function exit(code) {
  if (exiting) return;
  exiting = true;
  if (cli && cli.exitCode === null) {
    cli.kill('SIGTERM');
    await new Promise((r) => cli.once('close', r));
  }
  await env.stop();
  const left = env.alivePids();
  if (left.length) say(`still running after stop: ${left.join(' ')}`);
  if (!keep && expectedOutcome) env.remove();
  else if (env.dir) say(`kept ${env.dir}`);
  process.exit(code);
}
process.on('SIGINT', () => void exit(130));
process.on('SIGTERM', () => void exit(143));
main().then(
  (code) => exit(code),
  (e) => {
    console.error(`[fleet] ${e.stack ?? e.message}`);
    void exit(1);
  },
);
