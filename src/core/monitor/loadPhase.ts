/**
 * The phase of the newest release in a workspace, read from its journal as a load run goes: traffic
 * is counted by the phase it was sent in (`gates`, `deploy`, `monitor`, `rollback`, `after` …).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface JournalPhase {
  phase: string | undefined;
  /** Whether the run started a rollback (its phase may be `after` by now). */
  rolledBack: boolean;
}

const cache = new Map<string, { size: number } & JournalPhase>();

/** The newest run's phase; undefined when the workspace has no run yet (or it cannot be read). */
export function journalPhase(workspace: string): JournalPhase | undefined {
  try {
    const runs = path.join(workspace, '.release', 'runs');
    const newest = fs.readdirSync(runs).sort().pop();
    if (!newest) return undefined;
    const file = path.join(runs, newest, 'journal.jsonl');
    const size = fs.statSync(file).size;
    const known = cache.get(file);
    if (known?.size === size) return known;
    let phase: string | undefined;
    let rolledBack = false;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      let e: { type?: string; phase?: string };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        continue; // an empty line, or one being written
      }
      if (e.type === 'release.started') phase = 'gates';
      else if (e.type === 'phase.started' && e.phase) phase = e.phase;
      else if (e.type === 'rollback.started') {
        phase = 'rollback';
        rolledBack = true;
      } else if (e.type === 'rollback.finished' || e.type === 'release.finished') phase = 'after';
    }
    const found = { size, phase, rolledBack };
    cache.set(file, found);
    return found;
  } catch {
    return undefined;
  }
}
