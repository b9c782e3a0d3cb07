// The start of a release on a workspace with many earlier runs: how long the refusals before the
// lock and the checks under it take, against one read of every journal (what they all need).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Release } from '../src/core/engine/run/engine';
import { workspaceRuns } from '../src/core/engine/queries/liveState';
import { parsePlan } from '../src/core/plan/load';
import { scripted, smallPlan, writeRunJournal } from '../test/support/fixtures';

export interface StartFigures {
  runs: number;
  startMs: number;
  readMs: number;
  samples: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A git workspace holding `runs` released runs of the small plan (versions 1.0.0…), each journal ~10 events. */
function workspaceWithRuns(runs: number): { dir: string; planFile: string; planText: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-bench-start-'));
  const planText = smallPlan().replace('version: 1.2.3', 'version: 9.0.0');
  fs.mkdirSync(path.join(dir, '.release'), { recursive: true });
  const planFile = path.join(dir, '.release', 'plan.yaml');
  fs.writeFileSync(planFile, planText);
  for (const [k, v] of Object.entries({
    'verdict.txt': 'Ready for Launch\n',
    'migrations/001.sql': 'x',
    'state.txt': 'v1\n',
    '.gitignore': '.release/runs/\n',
  })) {
    fs.mkdirSync(path.dirname(path.join(dir, k)), { recursive: true });
    fs.writeFileSync(path.join(dir, k), v);
  }
  for (let i = 0; i < runs; i++) {
    const version = `1.${Math.floor(i / 100)}.${i % 100}`;
    writeRunJournal(dir, {
      runId: `20260301-${String(100000 + i)}-${version}`,
      version,
      outcome: 'released',
      startedAt: Date.parse('2026-03-01T10:00:00Z') + i * 60_000,
    });
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'add', '-A');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'commit', '-qm', 'feat: the plan');
  return { dir, planFile, planText };
}

/** Median time of `Release.start` (refusals, lock, journal opened) and of one read of every run, on `runs` runs. */
export async function startOnManyRuns(runs: number, samples: number): Promise<StartFigures> {
  const w = workspaceWithRuns(runs);
  const parsed = parsePlan(w.planText, w.planFile);
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('\n'));
  const starts: number[] = [];
  const reads: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      let t = performance.now();
      const r = await Release.start({
        planFile: w.planFile,
        plan: parsed.plan,
        planText: w.planText,
        workspace: w.dir,
        prompter: scripted(),
        user: 'bench',
        holder: 'bench',
      });
      starts.push(performance.now() - t);
      r.close();
      // The new run is not aborted: remove it, so each start sees the same runs.
      fs.rmSync(r.runDir, { recursive: true, force: true });
      t = performance.now();
      if (workspaceRuns(w.dir).length !== runs) throw new Error('the workspace lost a run');
      reads.push(performance.now() - t);
    }
  } finally {
    fs.rmSync(w.dir, { recursive: true, force: true });
  }
  return { runs, startMs: median(starts), readMs: median(reads), samples };
}
