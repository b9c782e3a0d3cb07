// What every host of the inventory runs, from its service's /health; exits 1 unless each one
// answers 200 with the expected version.  Usage: node tools/versions.mjs INVENTORY [VERSION]
import * as fs from 'node:fs';

const [inventory, expected] = process.argv.slice(2);
const hosts = [...fs.readFileSync(inventory, 'utf8').matchAll(/^(\S+) ansible_host=(\S+) .*service_port=(\d+)/gm)].map((m) => ({
  name: m[1],
  addr: m[2],
  port: m[3],
}));
let ok = hosts.length > 0;
for (const h of hosts) {
  let said;
  try {
    const r = await fetch(`http://${h.addr}:${h.port}/health`, { signal: AbortSignal.timeout(3000) });
    const body = await r.json();
    said = `${r.status} ${body.version}`;
    if (r.status !== 200 || (expected && body.version !== expected)) ok = false;
  } catch (e) {
    said = `no answer (${e.cause?.code ?? e.message})`;
    ok = false;
  }
  console.log(`${h.name} ${h.addr}:${h.port} ${said}`);
}
if (!ok) console.error(`not every host answers 200${expected ? ` with ${expected}` : ''}`);
process.exit(ok ? 0 : 1);
