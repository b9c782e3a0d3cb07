import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePlan } from '../../src/core/plan/load';
import type { EngineOptions, FailureDecision, Prompter, ChecklistDecision } from '../../src/core/engine/run/engine';
import type { BreachDecision } from '../../src/core/monitor/monitorPorts';
import { tempDir, write } from './helpers';

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
  const planFile = write(dir, '.release/plan.yaml', planText);
  const defaults: Record<string, string> = {
    'verdict.txt': 'QA verdict: Ready for Launch\n',
    'migrations/001.sql': 'select 1;\n',
    'state.txt': 'v1\n',
    'health.txt': '1\n',
  };
  for (const [k, v] of Object.entries({ ...defaults, ...files })) write(dir, k, v);
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
