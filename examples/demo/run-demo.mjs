#!/usr/bin/env node
// The demo release: production (v1.0.0 on blue, a router, steady traffic) from environment.mjs,
// then v1.1.0 released through the release-pilot CLI. `--bad` releases a faulty 1.1.0 that the
// monitor catches and rolls back (exit 3). The traffic writes orders too; at the end each one the
// service acknowledged is read back ("acknowledged writes: N, present after rollback: N, lost: 0"). `--vscode` opens the prepared workspace in VS Code.
// Every process it started is stopped at the end, on Ctrl+C and on failure.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DemoEnvironment, RPS } from './environment.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const bad = process.argv.includes('--bad');
const vscodeMode = process.argv.includes('--vscode');
const keep = process.argv.includes('--keep') || vscodeMode;
const say = (m) => console.log(`\x1b[36m[demo]\x1b[0m ${m}`);
const env = new DemoEnvironment({ bad, routerPortInPlan: vscodeMode });
let expectedOutcome = false;

async function main() {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  await env.start();
  const { ports, dir } = env;
  say(`workspace ${dir}`);
  say(
    `production: orders-service v1.0.0 on blue (:${ports.BLUE_PORT}) behind the router (:${ports.ROUTER_PORT}), ${RPS} requests/s; releasing ${bad ? 'a FAULTY ' : ''}v1.1.0`,
  );
  if (vscodeMode) return openInVscode();

  const args = [CLI, 'run', '--plan', path.join(dir, '.release', 'plan.yaml'), '--yes', '--tick', 'on-call', '--var', `ROUTER_PORT=${ports.ROUTER_PORT}`];
  say(`$ release-pilot ${args.slice(1).join(' ')}\n`);
  const r = spawnSync(process.execPath, args, { cwd: dir, stdio: 'inherit', env: { ...process.env, USER: process.env.USER ?? 'demo' } });
  const code = r.status ?? 1;
  const after = env.summary();
  console.log('');
  const probe = await env.probe();
  say(
    `traffic is on ${after.active}; database schema version ${after.schema} (orders columns: ${after.columns.join(', ')}); ${probe[200] ?? 0}/${Object.values(probe).reduce((a, b) => a + b, 0)} requests answer 200 now${probe[200] === 40 ? '' : ` (statuses: ${JSON.stringify(probe)})`}`,
  );
  // Every order the service acknowledged during the release, read back now (release-pilot load --check-writes).
  const writes = await env.stopTraffic();
  say(writes.line);
  // A rollback is code-only: the migration is additive (v1.0.0 runs on schema 2), so the database keeps it and every order.
  const expected = bad ? { code: 3, active: 'blue', schema: 2 } : { code: 0, active: 'green', schema: 2 };
  const writesKept = writes.acknowledged > 0 && writes.lost === 0;
  expectedOutcome = code === expected.code && after.active === expected.active && after.schema === expected.schema && probe[200] === 40 && writesKept;
  say(
    expectedOutcome
      ? `as expected: ${bad ? 'the faulty release was rolled back: traffic is on v1.0.0 again, every acknowledged order kept' : 'v1.1.0 is live on green, the database is migrated, every acknowledged order kept'}`
      : `UNEXPECTED: exit ${code}, traffic on ${after.active}, schema ${after.schema}, ${writes.line}`,
  );
  return expectedOutcome ? code : 1;
}

function openInVscode() {
  if (spawnSync('bash', ['--norc', '-c', 'command -v code'], { stdio: 'ignore' }).status === 0) {
    spawnSync('code', ['--extensionDevelopmentPath', ROOT, env.dir], { stdio: 'inherit' });
    say('opened in VS Code. In the palette: "Deploy: Start Release". Ctrl+C here stops the demo service.');
  } else {
    say('no desktop `code` here: starting the real VS Code server from the test host instead');
    const host = spawn(process.execPath, [path.join(ROOT, 'test', 'host', 'open.mjs'), env.dir], { stdio: 'inherit', detached: true });
    env.children.push({ name: 'vscode', child: host });
  }
  return new Promise(() => {});
}

let exiting = false;
async function exit(code) {
  if (exiting) return;
  exiting = true;
  await env.stop();
  if (!keep && expectedOutcome) env.remove();
  else if (env.dir) say(`kept ${env.dir}`);
  process.exit(code);
}
process.on('SIGINT', () => void exit(130));
process.on('SIGTERM', () => void exit(143));
main().then(
  (code) => exit(code),
  (e) => {
    console.error(`[demo] ${e.message}`);
    void exit(1);
  },
);
