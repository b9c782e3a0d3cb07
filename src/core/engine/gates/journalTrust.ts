import * as path from 'node:path';
import valid from 'semver/functions/valid';
import type { Plan } from '../../model/schema';
import type { ReleaseState } from '../../model/releaseState';
import { GateError } from './gateError';

/** One value read back from a journal, with what it must be before anything may use it. */
interface ReadBack {
  /** The run whose journal holds it. */
  run: string;
  field: string;
  value: unknown;
  expected: string;
  ok: (v: unknown) => boolean;
}

const VERSION_TEXT = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const isVersion = (v: unknown) => typeof v === 'string' && VERSION_TEXT.test(v) && valid(v) !== null;

/** Inside the run's folder, written relative to it (as the engine journals a step's log). */
function insideRunDir(runDir: string) {
  return (v: unknown) => {
    if (typeof v !== 'string' || v === '' || path.isAbsolute(v) || v.includes('\0')) return false;
    const rel = path.relative(runDir, path.resolve(runDir, v));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
}

/**
 * Every value of a run's journal that reaches a command, a scope or a path: the version and the
 * previous version (`${release.version}`, `${release.previousVersion}`), the colours
 * (`${deploy.active}`, `${deploy.color}`, and those of an earlier run this one retires), the run id
 * (`${run.dir}`, `${backup.path}`) and the step logs. A journal is a file anyone with the folder can
 * edit; none of these is used before it is what the engine itself would have written.
 */
function readBacks(s: ReleaseState, plan: Plan, runId: string, runDir: string): ReadBack[] {
  const bg = plan.phases.deploy.strategy === 'blue-green' ? plan.phases.deploy.blueGreen : undefined;
  const colours: readonly string[] = bg?.colors ?? [];
  const colourOf = (run: string, field: string, value: unknown): ReadBack => ({
    run,
    field,
    value,
    expected: colours.length ? `one of the plan's colours (${colours.join(', ')})` : 'recorded by this plan, which has no blue-green colours',
    ok: (v) => typeof v === 'string' && colours.includes(v),
  });
  const out: ReadBack[] = [
    { run: runId, field: 'the run id', value: s.runId, expected: `the run's own folder name (${runId})`, ok: (v) => v === runId },
    { run: runId, field: 'the version', value: s.version, expected: 'a semantic version such as 1.4.0', ok: isVersion },
  ];
  if (s.previousVersion !== undefined)
    out.push({ run: runId, field: 'the previous version', value: s.previousVersion, expected: 'a semantic version such as 1.4.0', ok: isVersion });
  if (s.colors) {
    out.push(colourOf(runId, 'the active colour', s.colors.active), colourOf(runId, 'the idle colour', s.colors.idle));
    if (s.colors.active === s.colors.idle)
      out.push({ run: runId, field: 'the idle colour', value: s.colors.idle, expected: 'the other colour than the active one', ok: () => false });
  }
  const kept = s.retireInherited;
  if (kept) {
    const from = typeof kept.from === 'string' ? kept.from : String(kept.from);
    out.push(colourOf(from, 'the colour kept up', kept.idle), colourOf(from, 'the colour that went live', kept.active));
  }
  for (const st of Object.values(s.steps))
    if (st.log !== undefined)
      out.push({ run: runId, field: `the log of step ${st.key}`, value: st.log, expected: "a file inside the run's folder", ok: insideRunDir(runDir) });
  return out;
}

const quoted = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}…"` : text;
};

/** Why a run's journal cannot be trusted to drive a command (its first bad value), or undefined. */
export function journalDamage(s: ReleaseState, plan: Plan, runId: string, runDir: string): string | undefined {
  // A status change the engine could not have made (statusTransitions.ts): the fold left it out.
  const impossible = s.transitionFlags?.[0];
  if (impossible) return `the journal of run ${runId} was edited or damaged: ${impossible}, which the engine never writes; nothing ran`;
  const bad = readBacks(s, plan, runId, runDir).find((r) => !r.ok(r.value));
  if (!bad) return undefined;
  return `the journal of run ${bad.run} was edited or damaged: ${bad.field} is ${quoted(bad.value)}, which is not ${bad.expected}; nothing ran`;
}

/** Refuses, before any command, a run whose journal holds a value the engine would never have written. */
export function refuseDamagedJournal(s: ReleaseState, plan: Plan, runId: string, runDir: string): void {
  const damage = journalDamage(s, plan, runId, runDir);
  if (damage) throw new GateError('journal', damage);
}
