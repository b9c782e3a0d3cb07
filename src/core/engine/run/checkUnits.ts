import * as fs from 'node:fs';
import type { HealthCheck } from '../../model/schema';
import { runShort } from '../../exec/short';
import type { RunContext } from './context';
import { httpCheck, scanLog } from '../gates/checks';
import { execStep, pseudoStep } from './stepExec';
import type { Unit } from './phaseUnits';
import { clip } from '../../format';

type Outcome = 'ok' | 'failed' | 'stop';
type Attempt = { ok: boolean; detail: string };

/** A health check, retried at its interval; a stop or a rollback request ends the waiting (the run's interrupt). */
export async function runHealthUnit(c: RunContext, unit: Extract<Unit, { kind: 'health' }>, name: string, extra: Record<string, string>): Promise<Outcome> {
  const hc = unit.check;
  const target = hc.http ? c.resolve(hc.http.url, extra) : c.resolve(hc.run!, extra);
  const ok = await pseudoStep(c, unit.key, unit.phase, name, hc.http ? `GET ${target}` : target, async (write) => {
    let last = '';
    for (let attempt = 0; attempt <= hc.retries; attempt++) {
      const interrupted = c.interruption();
      if (interrupted) return { ok: false, message: interrupted };
      const r = await healthAttempt(c, hc, target, extra);
      last = r.detail;
      if (r.ok) {
        write(`attempt ${attempt + 1}: ${hc.http ? last : 'healthy'}`);
        return { ok: true, message: `healthy after ${attempt + 1} attempt(s)${hc.http ? `: ${last}` : ''}` };
      }
      write(`attempt ${attempt + 1}: ${last}`);
      if (attempt < hc.retries) await c.clock.sleep(hc.interval, c.stopLatch.signal);
    }
    return { ok: false, message: `unhealthy after ${hc.retries + 1} attempt(s): ${last}` };
  });
  return ok ? 'ok' : 'failed';
}

async function healthAttempt(c: RunContext, hc: HealthCheck, target: string, extra: Record<string, string>): Promise<Attempt> {
  if (hc.http) return httpCheck(hc.http, target, c.stopLatch.signal, (t) => c.resolve(t, extra));
  const r = await runShort(target, { cwd: c.o.workspace, timeoutMs: 30_000, signal: c.stopLatch.signal, env: c.stepEnv({}, extra) });
  if (r.exitCode === 0) return { ok: true, detail: 'exit code 0' };
  return {
    ok: false,
    detail: `exit code ${r.exitCode}: ${c.masker.mask(clip(String(r.all ?? '').trim(), 200))}`,
  };
}

export async function runHttpUnit(c: RunContext, unit: Extract<Unit, { kind: 'http' }>, name: string): Promise<Outcome> {
  const url = c.resolve(unit.check.url);
  const check = unit.check;
  const ok = await pseudoStep(c, unit.key, unit.phase, name, `${check.method} ${url} expect ${check.status}`, async (write) => {
    let delay = check.retryDelay;
    for (let attempt = 1; ; attempt++) {
      const r = await httpCheck(check, url, c.stopLatch.signal, (t) => c.resolve(t));
      write(check.retries ? `attempt ${attempt}: ${r.detail}` : r.detail);
      const interrupted = c.interruption();
      if (r.ok || attempt > check.retries || interrupted)
        return {
          ok: r.ok,
          message: `${r.detail}${attempt > 1 ? ` (attempt ${attempt} of ${check.retries + 1})` : ''}${!r.ok && interrupted ? `; ${interrupted}` : ''}`,
        };
      await c.clock.sleep(delay, c.stopLatch.signal);
      if (c.interruption())
        return { ok: false, message: `${r.detail} (attempt ${attempt} of ${check.retries + 1}); ${c.interruption()} while waiting to try again` };
      // Doubling, up to a minute between tries.
      delay = Math.min(delay * 2, 60_000);
    }
  });
  return ok ? 'ok' : 'failed';
}

/** A command whose output is scanned for what must (not) appear in it. */
export async function runLogUnit(c: RunContext, unit: Extract<Unit, { kind: 'log' }>, name: string): Promise<Outcome> {
  const command = c.resolve(unit.check.run);
  const r = await execStep(c, unit.key, unit.phase, name, command, { judge: (log) => scanOutput(log, unit.check) });
  return r.ok ? 'ok' : 'failed';
}

/** A log scan of a step's output file; an unreadable file fails the scan, it never passes it. */
function scanOutput(log: string, check: Parameters<typeof scanLog>[1]): { ok: boolean; detail: string } {
  try {
    return scanLog(fs.readFileSync(log, 'utf8'), check);
  } catch (e) {
    return { ok: false, detail: `cannot read the output to scan it: ${(e as Error).message}` };
  }
}
