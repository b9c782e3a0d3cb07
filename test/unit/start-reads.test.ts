import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { Release } from '../../src/core/engine/run/engine';
import { readWorkspaceRuns, type RunsRead } from '../../src/core/engine/queries/liveState';
import { UnresolvedRunError } from '../../src/core/engine/gates/unresolvedRun';
import { parsePlan } from '../../src/core/plan/load';
import { scripted, smallPlan, writeRunJournal } from '../support/fixtures';
import { gitRepo, tempDir, write } from '../support/helpers';

// A start answers every question about earlier runs (the version's base, the previous version, the
// same version released before, an unresolved run, the colour kept) from one read of the journals.

const runJournal = (ws: string, runId: string, version: string, outcome: 'released' | 'paused') => writeRunJournal(ws, { runId, version, outcome });

/** A git workspace with the small plan at `version` and `runs` earlier released runs (1.0.0, 1.0.1, …). */
function workspace(runs: number, version = '2.0.0') {
  const ws = tempDir('rp-reads-');
  const planText = smallPlan().replace('version: 1.2.3', `version: ${version}`);
  const planFile = write(ws, '.release/plan.yaml', planText);
  for (const [k, v] of Object.entries({
    'verdict.txt': 'Ready for Launch\n',
    'migrations/001.sql': 'x',
    'state.txt': 'v1\n',
    '.gitignore': '.release/runs/\n',
  }))
    write(ws, k, v);
  for (let i = 0; i < runs; i++) runJournal(ws, `20260301-10${String(i).padStart(4, '0')}-1.0.${i}`, `1.0.${i}`, 'released');
  const git = gitRepo(ws);
  git('add', '-A');
  git('commit', '-qm', 'feat: the plan');
  return { ws, planFile, planText, git };
}

/** Counts the reads of every run (the injected reader) and of each journal file. */
function counting(after?: (read: RunsRead) => void) {
  const counts = { reads: 0, journalReads: new Map<string, number>() };
  const original = fs.readFileSync;
  const spy = ((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (typeof file === 'string' && file.endsWith('journal.jsonl')) counts.journalReads.set(file, (counts.journalReads.get(file) ?? 0) + 1);
    return (original as (...a: unknown[]) => unknown)(file, ...rest);
  }) as typeof fs.readFileSync;
  // The module itself, not this file's view of it: the engine reads through the same object.
  const nodeFs = createRequire(__filename)('node:fs') as { readFileSync: typeof fs.readFileSync };
  return {
    counts,
    install: () => (nodeFs.readFileSync = spy),
    restore: () => (nodeFs.readFileSync = original),
    readRuns: (workspace: string) => {
      counts.reads++;
      const read = readWorkspaceRuns(workspace);
      after?.(read);
      return read;
    },
  };
}

async function start(w: { ws: string; planFile: string; planText: string }, readRuns: (ws: string) => RunsRead, more: { redeploy?: string } = {}) {
  const parsed = parsePlan(w.planText, w.planFile);
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('\n'));
  return Release.start({
    planFile: w.planFile,
    plan: parsed.plan,
    planText: w.planText,
    workspace: w.ws,
    prompter: scripted(),
    user: 'u',
    holder: 'test',
    readRuns,
    ...more,
  });
}

describe('a release start reads the runs of the workspace once', function () {
  this.timeout(30_000);

  for (const runs of [0, 1, 12, 300]) {
    it(`reads every journal once with ${runs} earlier run(s), and the previous version is the newest released`, async () => {
      const w = workspace(runs);
      const c = counting();
      c.install();
      let r: Release | undefined;
      try {
        r = await start(w, c.readRuns);
      } finally {
        c.restore();
      }
      try {
        assert.equal(c.counts.reads, 1);
        const others = [...c.counts.journalReads].filter(([f]) => !f.includes(r.runId));
        assert.equal(others.length, runs);
        for (const [file, n] of others) assert.equal(n, 1, `${file} read ${n} times`);
        assert.equal(r.snapshot.previousVersion, runs ? `1.0.${runs - 1}` : undefined);
      } finally {
        r.close();
      }
    });
  }

  it('a redeploy finds the released run it redeploys, from its one read', async () => {
    const w = workspace(3);
    w.planText = w.planText.replace('  environment: production\n', '  environment: production\n  redeploy: true\n');
    fs.writeFileSync(w.planFile, w.planText);
    w.git('commit', '-qam', 'chore: redeploy');
    const c = counting();
    const r = await start(w, c.readRuns, { redeploy: '1.0.1' });
    r.close();
    assert.equal(r.snapshot.version, '1.0.1');
    assert.equal(c.counts.reads, 1);
  });

  it('a blue-green start takes the colour the serving run kept up, from its one read', async () => {
    const w = workspace(0);
    const deploy = `    strategy: blue-green
    blueGreen:
      active: echo green
      deploy:
        - run: echo deployed
      healthCheck:
        run: "true"
      switch:
        - run: echo switched
      retire:
        - run: echo retired`;
    w.planText = smallPlan({ deploy }).replace('version: 1.2.3', 'version: 2.0.0');
    fs.writeFileSync(w.planFile, w.planText);
    w.git('commit', '-qam', 'feat: blue-green');
    writeRunJournal(w.ws, { runId: '20260301-100000-1.0.0', version: '1.0.0', outcome: 'released', colors: { active: 'blue', idle: 'green' } });
    const c = counting();
    const r = await start(w, c.readRuns);
    r.close();
    assert.deepEqual(r.snapshot.retireInherited, { from: '20260301-100000-1.0.0', active: 'blue', idle: 'green' });
    assert.equal(c.counts.reads, 1);
  });

  it('refuses the same version released before, from its one read', async () => {
    const w = workspace(3, '1.0.1');
    const c = counting();
    await assert.rejects(start(w, c.readRuns), /tiny 1\.0\.1 was released to production in run/);
    assert.equal(c.counts.reads, 1);
  });

  it('refuses to start over a paused run of the plan, from its one read', async () => {
    const w = workspace(2);
    runJournal(w.ws, '20260301-109999-1.9.0', '1.9.0', 'paused');
    const c = counting();
    await assert.rejects(start(w, c.readRuns), (e: unknown) => e instanceof UnresolvedRunError && e.runId === '20260301-109999-1.9.0');
    assert.equal(c.counts.reads, 1);
  });

  it('reads again under the lock when a journal changed after the first read, and sees the run paused since', async () => {
    const w = workspace(2);
    // Between the refusals' read and the lock, another start pauses a run of the plan.
    const c = counting(() => runJournal(w.ws, '20260301-109999-1.9.0', '1.9.0', 'paused'));
    await assert.rejects(start(w, c.readRuns), (e: unknown) => e instanceof UnresolvedRunError && e.runId === '20260301-109999-1.9.0');
    assert.equal(c.counts.reads, 2);
  });

  it('reads again under the lock when a journal grew after the first read', async () => {
    const w = workspace(2);
    const file = path.join(w.ws, '.release/runs/20260301-100001-1.0.1/journal.jsonl');
    const c = counting((read) => {
      if (read.runs.length) fs.appendFileSync(file, JSON.stringify({ type: 'warning', message: 'later', at: '2026-03-01T10:00:09Z' }) + '\n');
    });
    const r = await start(w, c.readRuns);
    r.close();
    assert.equal(c.counts.reads, 2);
  });
});
