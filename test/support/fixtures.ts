import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePlan } from '../../src/core/plan/load';
import type { EngineOptions, FailureDecision, Prompter, ChecklistDecision } from '../../src/core/engine/run/engine';
import type { BreachDecision } from '../../src/core/monitor/monitorPorts';
import { copyDir, gitRepo, tempDir, write } from './helpers';
import { PHASES } from '../../src/core/model/schema';

/** A small plan whose steps touch real files in the workspace; every phase is used. */
/** Environments whose production has every gate: promotion from staging, a signed approval, a freeze window (smallPlan's `extra`). */
export const GATED_ENVIRONMENTS = `environments:
  staging: {}
  production:
    requires: { released: staging }
    approvals: { count: 1, signed: true }
    freeze:
      - { from: "2026-12-24T00:00:00Z", to: "2026-12-27T00:00:00Z", reason: "holidays" }
`;

export function smallPlan(
  over: { extra?: string; deploy?: string; rollback?: string; monitoring?: string; acceptance?: string; checklist?: string } = {},
): string {
  return `release:
  name: tiny
  version: 1.2.3
  environment: production
acceptance:
  ${over.acceptance ?? 'file: verdict.txt'}
secrets: [TINY_TOKEN]
checklist:
${
  over.checklist ??
  `  - id: migration-script
    title: Migration script present
    files: [migrations/*.sql]
  - id: sign-off
    title: Sign-off
    manual: true`
}
phases:
  preparation:
    steps:
      - name: prepare
        run: echo preparing > prepared.txt
  staging:
    steps:
      - name: smoke
        run: test -f prepared.txt && echo staging ok
  backup:
    steps:
      - name: backup
        run: mkdir -p "$(dirname '\${backup.path}')" && cp state.txt '\${backup.path}'
  migration:
    steps:
      - name: migrate
        run: echo migrated >> state.txt
  deploy:
${
  over.deploy ??
  `    steps:
      - name: deploy
        run: echo "version \${release.version}" > deployed.txt`
}
  config:
    steps:
      - name: config
        run: echo "token is $TINY_TOKEN"
  verification:
    steps:
      - name: verify
        run: grep -q 1.2.3 deployed.txt
  announcement:
    steps:
      - name: announce
        run: echo announced > announced.txt
rollback:
  steps:
${
  over.rollback ??
  `    - name: restore
      run: cp '\${backup.path}' state.txt && rm -f deployed.txt`
}
monitoring:
${
  over.monitoring ??
  `  window: 1s
  interval: 200ms
  baseline:
    fixed: { health: 1 }
  metrics:
    - id: health
      command: cat health.txt
      guard: { min: 1 }`
}
${over.extra ?? ''}`;
}

export interface Workspace {
  dir: string;
  planFile: string;
  options(p?: Partial<EngineOptions>): EngineOptions;
}

export function workspace(planText = smallPlan(), files: Record<string, string> = {}): Workspace {
  const dir = tempDir('rp-ws-');
  write(dir, '.release/plan.yaml', planText);
  const defaults: Record<string, string> = {
    'verdict.txt': 'QA verdict: Ready for Launch\n',
    'migrations/001.sql': 'select 1;\n',
    'state.txt': 'v1\n',
    'health.txt': '1\n',
  };
  for (const [k, v] of Object.entries({ ...defaults, ...files })) write(dir, k, v);
  return workspaceIn(dir, planText);
}

/**
 * A copy of a workspace (files, git repository, runs) in a fresh temp folder, with its plan as it is
 * now: what a test starts from when the state it needs (a repository, released runs) is built once.
 * The copied journals keep the commands they ran, which name the original folder.
 */
export function copyWorkspace(ws: Workspace): Workspace {
  return workspaceIn(copyDir(ws.dir, 'rp-ws-'));
}

/** The workspace in `dir`, with the plan at its .release/plan.yaml (whose text is `planText`). */
function workspaceIn(dir: string, planText?: string): Workspace {
  const planFile = path.join(dir, '.release', 'plan.yaml');
  planText ??= fs.readFileSync(planFile, 'utf8');
  const loaded = parsePlan(fs.readFileSync(planFile), planFile);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.line}:${p.column} ${p.message} (${p.path})`).join('\n'));
  return {
    dir,
    planFile,
    options: (p = {}) => ({
      planFile,
      plan: loaded.plan,
      planText,
      workspace: dir,
      prompter: scripted(),
      user: 'Test Engineer',
      holder: 'test',
      killGraceMs: 500,
      ...p,
    }),
  };
}

/** Engine options for the same workspace with the plan at another version: a release after a released one needs its own. */
export function atVersion(ws: Workspace, version: string, p: Partial<EngineOptions> = {}, edit: (text: string) => string = (t) => t): EngineOptions {
  const planText = edit(fs.readFileSync(ws.planFile, 'utf8').replace(/^( {2}version: ).*$/m, `$1${version}`));
  fs.writeFileSync(ws.planFile, planText);
  const loaded = parsePlan(planText, ws.planFile);
  if (!loaded.ok) throw new Error(loaded.problems.map((x) => `${x.line}:${x.column} ${x.message} (${x.path})`).join('\n'));
  return ws.options({ plan: loaded.plan, planText, ...p });
}

/** A prompter that answers from a script and records what it was asked. */
export function scripted(
  a: { confirm?: boolean; failure?: FailureDecision[]; checklist?: ChecklistDecision[]; tick?: string | undefined; breach?: BreachDecision } = {},
): Prompter & { asked: string[]; notified: string[] } {
  const failures = [...(a.failure ?? [])];
  const checks = [...(a.checklist ?? [])];
  const asked: string[] = [];
  const notified: string[] = [];
  return {
    asked,
    notified,
    async confirm(m) {
      asked.push(`confirm: ${m}`);
      return a.confirm ?? true;
    },
    async onFailure(f) {
      asked.push(`failure: ${f.step.key}: ${f.message}`);
      return failures.shift() ?? { action: 'pause' };
    },
    async onChecklistFailed(item, detail) {
      asked.push(`checklist: ${item.id}: ${detail}`);
      return checks.shift() ?? { action: 'abort' };
    },
    async tickManual(item) {
      asked.push(`tick: ${item.id}`);
      return 'tick' in a ? a.tick : 'Release Manager';
    },
    async onBreach(b) {
      asked.push(`breach: ${b.reason}`);
      return a.breach ?? 'rollback';
    },
    async notify(m) {
      notified.push(m);
    },
  };
}

export function journalLines(ws: Workspace, runId: string): Record<string, unknown>[] {
  return fs
    .readFileSync(path.join(ws.dir, '.release/runs', runId, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

/**
 * The blue-green plan of service `svc`: its steps write files in `state/` (`active` names the colour that
 * serves, `<colour>.ver` what each colour runs), the rollback switches back, one metric reads `state/err`.
 * `head` goes before `release:`, `extra` before `phases:`, `phases` first under it; `deployed` is what the
 * deploy step writes (the version by default).
 */
export function blueGreenPlan(
  o: {
    name?: string;
    version?: string;
    environment?: string;
    head?: string;
    extra?: string;
    phases?: string;
    deployed?: string;
    rollbackRun?: string;
    window?: string;
    interval?: string;
    shortWindowReason?: string;
  } = {},
): string {
  return `${o.head ?? ''}release:
  name: ${o.name ?? 'svc'}
  version: ${o.version ?? '1.0.0'}
${o.environment ? `  environment: ${o.environment}\n` : ''}acceptance:
  file: qa.md
${o.extra ?? ''}phases:
${o.phases ?? ''}  deploy:
    strategy: blue-green
    blueGreen:
      active: cat state/active
      deploy:
        - name: deploy \${deploy.color}
          run: echo ${o.deployed ?? '${release.version}'} > state/\${deploy.color}.ver
      healthCheck:
        run: "true"
        retries: 0
      switch:
        - name: switch
          run: echo \${deploy.color} > state/active
rollback:
  budget: 30s
  steps:
    - name: back
      run: ${o.rollbackRun ?? 'echo ${deploy.active} > state/active'}
monitoring:
  window: ${o.window ?? '2s'}
  interval: ${o.interval ?? '500ms'}
  shortWindowReason: ${o.shortWindowReason ?? 'test'}
  baseline:
    fixed: { err: 0 }
  metrics:
    - id: err
      command: cat state/err
      guard: { max: 0.5 }
`;
}

/**
 * A git repository holding `planText` as .release/plan.yaml, blue serving (`state/active`), no error
 * (`state/err`) and the QA verdict (`qa.md`), committed as `feat: init` (by `identity` when given) and
 * tagged `tag` when given.
 */
export function blueGreenRepo(planText: string, o: { prefix?: string; tag?: string; identity?: { name: string; email: string } } = {}) {
  const dir = tempDir(o.prefix ?? 'rp-bg-');
  const git = gitRepo(dir);
  if (o.identity) {
    git('config', 'user.email', o.identity.email);
    git('config', 'user.name', o.identity.name);
  }
  write(dir, 'state/active', 'blue\n');
  write(dir, 'state/err', '0\n');
  write(dir, '.gitignore', 'state/\n.release/runs/\n.release/lock\n');
  write(dir, 'qa.md', 'Verdict: Ready for Launch\n');
  write(dir, '.release/plan.yaml', planText);
  git('add', '-A');
  git('commit', '-qm', 'feat: init');
  if (o.tag) git('tag', o.tag);
  return { dir, git };
}

/**
 * The refusal a release start ends in (a GateError: the test fails if the release started). With
 * `says`, its message matches; with `hides`, it never holds that value (a secret's, say); with
 * `nothingWrittenIn`, that workspace has no run folder.
 */
export async function refusedStart(start: Promise<{ close(): void }>, o: { says?: RegExp; hides?: string; nothingWrittenIn?: string } = {}): Promise<Error> {
  let err: Error | undefined;
  try {
    (await start).close();
  } catch (e) {
    err = e as Error;
  }
  assert.ok(err, 'the release started');
  assert.equal(err.name, 'GateError', err.message);
  if (o.says) assert.match(err.message, o.says);
  if (o.hides !== undefined) assert.ok(!err.message.includes(o.hides), err.message);
  if (o.nothingWrittenIn) assert.ok(!fs.existsSync(path.join(o.nothingWrittenIn, '.release/runs')), 'no run was written');
  return err;
}

/**
 * A run journal of the small plan (`tiny`, .release/plan.yaml, to production) as the engine writes it: every
 * phase up to the deploy passed (blue-green with `colors`), then released or paused; the events one second
 * apart from `startedAt`.
 */
export function writeRunJournal(
  workspaceDir: string,
  o: { runId: string; version: string; outcome: 'released' | 'paused'; startedAt?: number; colors?: { active: string; idle: string } },
): string {
  const at = (s: number) => new Date((o.startedAt ?? Date.parse('2026-03-01T10:00:00Z')) + s * 1000).toISOString();
  const events = [
    {
      type: 'release.started',
      runId: o.runId,
      plan: '.release/plan.yaml',
      name: 'tiny',
      version: o.version,
      environment: 'production',
      user: 'u',
      host: 'h',
      pid: 1,
      planHash: 'x',
    },
    // A released run went through every phase, as the engine writes it; a paused one stopped after the deploy.
    ...(o.outcome === 'released' ? PHASES : PHASES.slice(0, PHASES.indexOf('deploy') + 1)).flatMap((phase) => [
      { type: 'phase.started', phase },
      ...(phase === 'deploy' && o.colors ? [{ type: 'deploy.colors', ...o.colors }] : []),
      { type: 'phase.finished', phase, outcome: 'passed' },
    ]),
    o.outcome === 'released'
      ? { type: 'release.finished', outcome: 'released', message: 'released' }
      : { type: 'release.paused', message: 'paused after deploy' },
  ];
  return write(workspaceDir, `.release/runs/${o.runId}/journal.jsonl`, events.map((e, n) => JSON.stringify({ ...e, at: at(n) })).join('\n') + '\n');
}
