// One "machine" of the release store's tests: a process of its own with one PostgresStore.
//   node machine.js <url> <leaseMs>
// Reads one JSON command a line on stdin, answers one JSON line on stdout ({ id, value } or { id, error }).
// A lease it wins is renewed every leaseMs / 3, as the engine does, until it is released or lost.
import * as readline from 'node:readline';
import { PostgresStore } from '../../src/core/store/postgresStore';
import type { RunMeta, StoreLease } from '../../src/core/store/storeTypes';
import type { ReleaseEvent } from '../../src/core/model/events';

interface Command {
  id: number;
  op: string;
  key: string;
  runId: string;
  name: string;
  takeOver?: boolean;
  meta: RunMeta;
  events: ReleaseEvent[];
  from?: number;
}

const [url, leaseText] = process.argv.slice(2);
const leaseMs = Number(leaseText);
const store = new PostgresStore(url, { leaseMs });
let lease: StoreLease | undefined;
let renewal: NodeJS.Timeout | undefined;

const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function perform(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'acquire': {
      const me = { runId: cmd.runId, user: cmd.name, host: 'host-' + cmd.name, workspace: '/ws/' + cmd.name, pid: process.pid, holder: 'CLI', leaseMs };
      const r = await store.acquire(cmd.key, me, { takeOverStale: cmd.takeOver });
      if (!r.ok) return r;
      lease = r.lease;
      renewal = setInterval(() => {
        lease?.renew().catch((e: Error) => {
          say({ event: 'renewal failed', error: { name: e.name, message: e.message } });
          clearInterval(renewal);
        });
      }, leaseMs / 3);
      return { ok: true, info: r.lease.info, tookOver: r.tookOver };
    }
    case 'release':
      clearInterval(renewal);
      await lease?.release();
      return 'released';
    case 'holder':
      return (await store.holder(cmd.key)) ?? null;
    case 'publish':
      await store.publish(cmd.meta, cmd.events);
      return 'published';
    case 'events':
      return store.events(cmd.runId, cmd.from);
    case 'runs':
      return store.runs();
    case 'exit':
      clearInterval(renewal);
      await store.close();
      process.exit(0);
  }
  throw new Error(`unknown op ${cmd.op}`);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as Command;
  perform(cmd).then(
    (value) => say({ id: cmd.id, value }),
    (e: Error) => say({ id: cmd.id, error: { name: e.name, message: e.message } }),
  );
});
say({ ready: process.pid });
