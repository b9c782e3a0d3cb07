import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Release } from '../../src/core/engine/run/engine';
import { checkGitGate } from '../../src/core/git/gate';
import { GateError } from '../../src/core/engine/gates/gateError';
import { parsePlan } from '../../src/core/plan/load';
import { runIds } from '../../src/core/engine/queries/runs';
import { renderMarkdown, buildReport } from '../../src/core/report/report';
import { ROOT, gitIn, gitRepo, write } from '../support/helpers';
import { smallPlan, workspace, copyWorkspace, journalLines, scripted, type Workspace } from '../support/fixtures';
import { waitFor } from '../support/waitFor';

const GIT_CHECK = `  - id: main-tagged
    title: Merged to main and tagged
    git: {}`;

/** The small plan at `version`, deploying by version, with the git check; verification reads what was deployed. */
function planAt(version: string, o: { redeploy?: boolean; environment?: string; name?: string } = {}): string {
  return smallPlan({ checklist: GIT_CHECK })
    .replace('version: 1.2.3', `version: ${version}${o.redeploy === false ? '' : '\n  redeploy: true'}`)
    .replace('environment: production', `environment: ${o.environment ?? 'production'}`)
    .replace('name: tiny', `name: ${o.name ?? 'tiny'}`)
    .replace('grep -q 1.2.3 deployed.txt', 'grep -qx "version ${release.version}" deployed.txt');
}

/** A repository whose plan released 1.2.3 (tagged v1.2.3), then 1.3.0 (tagged v1.3.0, HEAD): built once, a fresh copy for each test. */
async function twoReleases() {
  const built = await (twoReleasesBuilt ??= buildTwoReleases());
  const ws = copyWorkspace(built.ws);
  return { ...built, ws, git: gitIn(ws.dir), at: (t: string) => withPlan(ws, t) };
}
let twoReleasesBuilt: ReturnType<typeof buildTwoReleases> | undefined;

async function buildTwoReleases() {
  const ws = workspace(planAt('1.2.3'));
  write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
  const git = gitRepo(ws.dir);
  git('add', '-A');
  git('commit', '-qm', 'feat: first');
  git('tag', 'v1.2.3');
  const first = await (await Release.start(ws.options())).run();
  assert.equal(first.status, 'released', first.outcomeMessage);
  const text = planAt('1.3.0');
  fs.writeFileSync(ws.planFile, text);
  git('commit', '-qam', 'feat: second');
  git('tag', 'v1.3.0');
  const at = (t: string) => withPlan(ws, t);
  const second = await (await Release.start(at(text)())).run();
  assert.equal(second.status, 'released', second.outcomeMessage);
  return { ws, git, first, second, text, at };
}

/** Engine options for the workspace with another plan text. */
function withPlan(ws: Workspace, text: string) {
  const r = parsePlan(text, ws.planFile);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return (p: Record<string, unknown> = {}) => ws.options({ plan: r.plan, planText: text, ...p });
}

/** The refusal a start ends in, by the gate named (the redeploy gate, unless said). */
async function refusal(start: Promise<unknown>, gate = 'redeploy'): Promise<GateError> {
  try {
    await start;
  } catch (e) {
    assert.ok(e instanceof GateError, String(e));
    assert.equal(e.gate, gate);
    return e;
  }
  assert.fail(`it started: the ${gate} gate did not refuse it`);
}

describe('redeploy: a version this plan released, again, through every gate (real git repositories)', function () {
  this.timeout(120_000);

  it('releases 1.2.3 again with HEAD at v1.3.0: the steps get 1.2.3, the git check names the tag, the journal names the run', async () => {
    const t = await twoReleases();
    const { ws, first, text, at } = t;
    const prompter = scripted();
    const s = await (await Release.start(at(text)({ redeploy: '1.2.3', prompter }))).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
    assert.equal(s.version, '1.2.3');
    assert.equal(s.previousVersion, '1.3.0', 'what it replaces: the version released last');
    assert.equal(fs.readFileSync(path.join(ws.dir, 'deployed.txt'), 'utf8'), 'version 1.2.3\n');
    assert.deepEqual(s.redeployOf?.runId, first.runId);
    const git = s.checklist.find((c) => c.id === 'main-tagged')!;
    assert.equal(git.state, 'passed');
    assert.match(git.detail ?? '', /redeploy: v1\.2\.3 \([0-9a-f]{12}\) is in main/);
    assert.ok(prompter.asked.includes(`confirm: Redeploy tiny 1.2.3, released before in run ${first.runId}, to production?`), prompter.asked.join('\n'));
    const started = journalLines(ws, s.runId).find((e) => e.type === 'release.started') as { redeployOf?: { runId: string; tagCommit?: string } };
    assert.equal(started.redeployOf?.runId, first.runId);
    assert.match(started.redeployOf?.tagCommit ?? '', /^[0-9a-f]{40}$/);
    assert.match(renderMarkdown(buildReport(s)), new RegExp(`Redeploy of v1\\.2\\.3, released before in run ${first.runId}`));
    // The commit shipped is the tag's, not HEAD's (v1.3.0 here); HEAD is named beside it.
    const head = t.git('rev-parse', 'HEAD').trim();
    assert.notEqual(started.redeployOf?.tagCommit, head);
    assert.equal(buildReport(s).releaseLog.commit, `${started.redeployOf?.tagCommit} (the version's tag; HEAD at the start was ${head})`);
    assert.ok(renderMarkdown(buildReport(s)).includes(started.redeployOf.tagCommit!), 'the report names the tag commit');
  });

  // Each of these must be refused before anything runs or any journal is written.
  const REFUSED: Array<[string, (t: Awaited<ReturnType<typeof twoReleases>>) => Promise<unknown>, RegExp]> = [
    [
      'a plan that does not say release.redeploy: true',
      (t) => Release.start(withPlan(t.ws, planAt('1.3.0', { redeploy: false }))({ redeploy: '1.2.3' })),
      /does not allow a redeploy: set release\.redeploy: true/,
    ],
    ['a version never released', (t) => Release.start(t.at(t.text)({ redeploy: '1.2.4' })), /no released run of tiny 1\.2\.4 to production/],
    ['a version written short', (t) => Release.start(t.at(t.text)({ redeploy: '1.2' })), /no released run of tiny 1\.2 to production/],
    ['an empty version', (t) => Release.start(t.at(t.text)({ redeploy: '' })), /no released run of tiny {2}to production/],
    ['a path for a version', (t) => Release.start(t.at(t.text)({ redeploy: '../1.2.3' })), /no released run of tiny \.\.\/1\.2\.3/],
    [
      'a version released to another environment',
      (t) => Release.start(withPlan(t.ws, planAt('1.3.0', { environment: 'staging' }))({ redeploy: '1.2.3' })),
      /no released run of tiny 1\.2\.3 to staging/,
    ],
    [
      'a version released under another name',
      (t) => Release.start(withPlan(t.ws, planAt('1.3.0', { name: 'other' }))({ redeploy: '1.2.3' })),
      /no released run of other 1\.2\.3/,
    ],
  ];
  for (const [what, start, message] of REFUSED) {
    it(`refuses ${what}, before anything runs`, async () => {
      const t = await twoReleases();
      const before = runIds(t.ws.dir);
      fs.rmSync(path.join(t.ws.dir, 'deployed.txt'));
      const e = await refusal(start(t));
      assert.match(e.message, message);
      assert.deepEqual(runIds(t.ws.dir), before, 'no run was written');
      assert.ok(!fs.existsSync(path.join(t.ws.dir, 'deployed.txt')));
    });
  }

  it('refuses a version whose release was rolled back (it is not known good)', async () => {
    const ws = workspace(planAt('1.2.3'));
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: first');
    git('tag', 'v1.2.3');
    const s = await (await Release.start(ws.options())).run();
    const back = await (await Release.reopen(ws.options(), s.runId)).rollbackFinished('bad version');
    assert.equal(back.status, 'rolled-back');
    const e = await refusal(Release.start(ws.options({ redeploy: '1.2.3' })));
    assert.match(e.message, /no released run of tiny 1\.2\.3 to production in \.release\/runs: only a version this plan released \(and did not roll back\)/);
  });

  it('refuses when the tag moved since that version was released (it would redeploy other code)', async () => {
    const t = await twoReleases();
    const released = t.git('rev-parse', 'v1.2.3');
    t.git('tag', '-f', 'v1.2.3', 'v1.3.0');
    const now = t.git('rev-parse', 'v1.2.3');
    const before = runIds(t.ws.dir);
    const e = await refusal(Release.start(t.at(t.text)({ redeploy: '1.2.3' })));
    assert.equal(
      e.message,
      `v1.2.3 now points to ${now}, but run ${t.first.runId} released tiny 1.2.3 to production from commit ${released}: the tag moved since; put it back to redeploy that version`,
    );
    assert.deepEqual(runIds(t.ws.dir), before);
  });

  it('the git check fails when the tag is gone or no longer in main, and nothing is deployed', async () => {
    const t = await twoReleases();
    fs.rmSync(path.join(t.ws.dir, 'deployed.txt'));
    t.git('tag', '-d', 'v1.2.3');
    const gone = await (await Release.start(t.at(t.text)({ redeploy: '1.2.3' }))).run();
    assert.equal(gone.status, 'aborted');
    assert.match(gone.outcomeMessage ?? '', /there is no tag v1\.2\.3 to redeploy/);
    t.git('checkout', '-q', '-b', 'side');
    t.git('commit', '-q', '--allow-empty', '-m', 'chore: side');
    t.git('tag', 'v1.2.3');
    t.git('checkout', '-q', 'main');
    // A tag re-made on a side branch is refused at the start (it moved), and the git check itself
    // says so of any tag outside the branch.
    await refusal(Release.start(t.at(t.text)({ redeploy: '1.2.3' })));
    const gate = await checkGitGate(t.ws.dir, { branch: 'main', clean: false, tagAtHead: true, tagMatchesVersion: true, wantedTag: 'v1.2.3', redeploy: true });
    assert.equal(gate.ok, false);
    assert.match(gate.detail, /v1\.2\.3 \([0-9a-f]{12}\) is not in main/);
    assert.ok(!fs.existsSync(path.join(t.ws.dir, 'deployed.txt')));
  });

  it('resumes a paused redeploy while its tag is where it was, and pauses when the tag moved', async () => {
    const t = await twoReleases();
    const paused = await (await Release.start(t.at(t.text)({ redeploy: '1.2.3', stopAfter: 'preparation' }))).run();
    assert.equal(paused.status, 'paused');
    const was = t.git('rev-parse', 'v1.2.3');
    t.git('tag', '-f', 'v1.2.3', 'v1.3.0');
    const moved = await (await Release.reopen(t.at(t.text)(), paused.runId)).run();
    assert.equal(moved.status, 'paused');
    assert.match(moved.pausedAt!.message, new RegExp(`this redeploy started with its tag v1\\.2\\.3 at ${was}, but v1\\.2\\.3 now points to`));
    t.git('tag', '-f', 'v1.2.3', was);
    const done = await (await Release.reopen(t.at(t.text)(), paused.runId)).run();
    assert.equal(done.status, 'released', done.outcomeMessage);
    assert.equal(fs.readFileSync(path.join(t.ws.dir, 'deployed.txt'), 'utf8'), 'version 1.2.3\n');
  });

  it('through the CLI: run --redeploy releases it (--dry-run previews it); --redeploy elsewhere is a usage error', async () => {
    const t = await twoReleases();
    const cli = (...args: string[]) =>
      spawnSync('node', [path.join(ROOT, 'dist', 'cli.js'), ...args, '--plan', t.ws.planFile], { encoding: 'utf8', timeout: 60_000 });
    for (const args of [
      ['status', '--redeploy', '1.2.3'],
      ['rollback', '--dry-run', '--redeploy', '1.2.3'],
    ]) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /--redeploy goes with run/);
    }
    const preview = cli('run', '--dry-run', '--redeploy', '1.2.3');
    assert.equal(preview.status, 0, preview.stdout + preview.stderr);
    assert.match(preview.stdout, /^Dry run of tiny 1\.2\.3 → production.*\nThis is a redeploy of 1\.2\.3, released in run /);
    const refused = cli('run', '--yes', '--redeploy', '9.9.9');
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /no released run of tiny 9\.9\.9 to production/);
    const r = cli('run', '--yes', '--tick', 'sign-off', '--redeploy', 'v1.2.3');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(fs.readFileSync(path.join(t.ws.dir, 'deployed.txt'), 'utf8'), 'version 1.2.3\n');
    assert.match(r.stdout, /Redeploy of v1\.2\.3, released before in run/);
  });
});

describe('a plain run of a version this plan already released is refused (it would ship other code under that name)', function () {
  this.timeout(120_000);

  /** The plan without its git check, for a workspace that is no repository. */
  const noGit = (text: string) => text.replace(GIT_CHECK, '  - id: sign-off\n    title: Sign-off\n    manual: true');

  /** A workspace (with git unless asked) whose plan released `version` once: built once per set of arguments, a fresh copy for each test. */
  async function releasedOnce(version: string, o: { git?: boolean; redeploy?: boolean; environment?: string } = {}) {
    const key = JSON.stringify([version, o.git, o.redeploy, o.environment]);
    const built = await (releasedOnceBuilt[key] ??= buildReleasedOnce(version, o));
    const ws = copyWorkspace(built.ws);
    return { ws, git: built.git && gitIn(ws.dir), first: built.first };
  }
  const releasedOnceBuilt: Record<string, ReturnType<typeof buildReleasedOnce>> = {};

  async function buildReleasedOnce(version: string, o: { git?: boolean; redeploy?: boolean; environment?: string }) {
    const text = planAt(version, { redeploy: o.redeploy ?? false, environment: o.environment });
    const ws = workspace(o.git === false ? noGit(text) : text);
    write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\nbackup/\n');
    const git = o.git === false ? undefined : gitRepo(ws.dir);
    git?.('add', '-A');
    git?.('commit', '-qm', 'feat: first');
    git?.('tag', `v${version.replace(/^v/, '')}`);
    const first = await (await Release.start(ws.options())).run();
    assert.equal(first.status, 'released', first.outcomeMessage);
    return { ws, git, first };
  }

  const versionRefusal = (start: Promise<unknown>) => refusal(start, 'version');

  it('refuses 1.2.3 again from new code, naming the run and its commit; nothing runs', async () => {
    const { ws, git, first } = await releasedOnce('1.2.3');
    const released = git!('rev-parse', 'HEAD');
    git!('commit', '-q', '--allow-empty', '-m', 'feat: more');
    const before = runIds(ws.dir);
    fs.rmSync(path.join(ws.dir, 'deployed.txt'));
    const e = await versionRefusal(Release.start(ws.options()));
    assert.equal(
      e.message,
      `tiny 1.2.3 was released to production in run ${first.runId} from commit ${released.slice(0, 12)}, so it does not start again: a second release of 1.2.3 would ship other code (HEAD is ${git!('rev-parse', 'HEAD').slice(0, 12)}) under its name. Give this release a new version (release.version in .release/plan.yaml); to deploy it again, a plan whose steps deploy by version sets release.redeploy: true and redeploys it`,
    );
    assert.deepEqual(runIds(ws.dir), before, 'no run was written');
    assert.ok(!fs.existsSync(path.join(ws.dir, 'deployed.txt')), 'nothing was deployed');
  });

  it('starts it again at the same commit (the same code); after a new commit, refuses and points to a redeploy when the plan allows one', async () => {
    const { ws, git } = await releasedOnce('1.2.3', { redeploy: true });
    const again = await (await Release.start(ws.options())).run();
    assert.equal(again.status, 'released', again.outcomeMessage);
    git!('commit', '-q', '--allow-empty', '-m', 'feat: more');
    const e = await versionRefusal(Release.start(ws.options()));
    assert.match(
      e.message,
      new RegExp(`in run ${again.runId} from commit [0-9a-f]{12}, so it does not start again: a second release of 1\\.2\\.3 would ship other code`),
    );
    assert.match(e.message, /or redeploy it \(Redeploy This Version in the Releases view, or run --redeploy 1\.2\.3\)$/);
    // The redeploy it points to does start.
    const s = await (await Release.start(ws.options({ redeploy: '1.2.3' }))).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
  });

  it('refuses it without git, and refuses "v1.2.3" written with its v', async () => {
    const { ws } = await releasedOnce('1.2.3', { git: false });
    const e = await versionRefusal(Release.start(ws.options()));
    assert.match(
      e.message,
      /^tiny 1\.2\.3 was released to production in run \S+, so it does not start again: a second release of 1\.2\.3 would ship code no commit tells apart from it/,
    );
    const text = noGit(planAt('v1.2.3', { redeploy: false }));
    const r = parsePlan(text, ws.planFile);
    assert.ok(r.ok);
    await versionRefusal(Release.start(ws.options({ plan: r.plan, planText: text })));
  });

  // Ways around it found by an outside attack: a look-alike environment, another plan file, a run stopped and abandoned after its deploy.
  it('refuses it to "Staging" after a release to "staging", and a look-alike environment does not validate', async () => {
    const { ws, first } = await releasedOnce('1.2.3', { git: false, environment: 'staging' });
    const e = await versionRefusal(Release.start(withPlan(ws, noGit(planAt('1.2.3', { redeploy: false, environment: 'Staging' })))()));
    assert.match(e.message, new RegExp(`^tiny 1\\.2\\.3 was released to staging in run ${first.runId}`));
    for (const env of ['"staging "', '"staging\\u200b"', '"staging\\t"', 'stаging', '""']) {
      const r = parsePlan(noGit(planAt('1.2.3', { redeploy: false, environment: env })), ws.planFile);
      assert.ok(!r.ok, env);
      assert.match(r.problems[0].message, /expected an environment name of letters, digits, - _ \. such as production/, env);
      assert.equal(r.problems[0].path, 'release.environment');
    }
  });

  it('refuses it from another plan file of the same workspace, naming the plan that released it', async () => {
    const { ws, first } = await releasedOnce('1.2.3', { git: false });
    const other = path.join(ws.dir, '.release', 'plan2.yaml');
    fs.copyFileSync(ws.planFile, other);
    const text = fs.readFileSync(other, 'utf8');
    const r = parsePlan(text, other);
    assert.ok(r.ok);
    const e = await versionRefusal(Release.start(ws.options({ planFile: other, plan: r.plan, planText: text })));
    assert.match(e.message, new RegExp(`in run ${first.runId} \\(by \\.release/plan\\.yaml\\), so it does not start again`));
  });

  it('refuses it after a run that deployed it was stopped and abandoned (production runs it, never rolled back)', async () => {
    const ws = workspace(noGit(planAt('1.2.3', { redeploy: false })).replace('window: 1s', 'window: 30s'));
    const r = await Release.start(ws.options());
    const running = r.run();
    await waitFor(() => r.snapshot.phases.find((p) => p.id === 'monitoring')?.state === 'running', 20_000);
    r.stop('SIGTERM');
    const paused = await running;
    assert.equal(paused.status, 'paused', paused.outcomeMessage);
    const abandoned = (await Release.reopen(ws.options(), r.runId)).abandon('left as it is');
    assert.equal(abandoned.status, 'aborted');
    const e = await versionRefusal(Release.start(ws.options()));
    assert.match(
      e.message,
      new RegExp(`^tiny 1\\.2\\.3 was deployed \\(then abandoned, never rolled back\\) to production in run ${r.runId}, so it does not start again`),
    );
    // Abandoned before its deploy, a run leaves nothing of it in production: the version may go out.
    const ws2 = workspace(noGit(planAt('1.2.3', { redeploy: false })));
    const early = await (await Release.start(ws2.options({ stopAfter: 'staging' }))).run();
    (await Release.reopen(ws2.options(), early.runId)).abandon('not today');
    const s = await (await Release.start(ws2.options())).run();
    assert.equal(s.status, 'released', s.outcomeMessage);
  });

  // Releases of the same version that are not "released to this environment under this name": allowed.
  const ALLOWED: Array<[string, (ws: Workspace) => ReturnType<Workspace['options']>]> = [
    ['another environment', (ws) => withPlan(ws, noGit(planAt('1.2.3', { redeploy: false, environment: 'staging' })))()],
    ['another name', (ws) => withPlan(ws, noGit(planAt('1.2.3', { redeploy: false, name: 'other' })))()],
    ['a pre-release of it', (ws) => withPlan(ws, noGit(planAt('1.2.3-rc.1', { redeploy: false })))()],
  ];
  for (const [what, options] of ALLOWED) {
    it(`starts 1.2.3 under ${what}`, async () => {
      const { ws } = await releasedOnce('1.2.3', { git: false });
      const s = await (await Release.start(options(ws))).run();
      assert.equal(s.status, 'released', s.outcomeMessage);
    });
  }

  it('refuses 1.2.3+build.2 after 1.2.3: build metadata is not part of the version', async () => {
    const { ws, first } = await releasedOnce('1.2.3', { git: false });
    const e = await versionRefusal(Release.start(withPlan(ws, noGit(planAt('1.2.3+build.2', { redeploy: false })))()));
    assert.match(
      e.message,
      new RegExp(
        `^tiny 1\\.2\\.3 was released to production in run ${first.runId}, and 1\\.2\\.3\\+build\\.2 is the same version \\(build metadata aside\\), so it does not start again`,
      ),
    );
  });

  it('starts a version whose release was rolled back, and one whose released run cannot be read', async () => {
    const { ws, first } = await releasedOnce('1.2.3', { git: false });
    const back = await (await Release.reopen(ws.options(), first.runId)).rollbackFinished('bad version');
    assert.equal(back.status, 'rolled-back');
    const again = await (await Release.start(ws.options())).run();
    assert.equal(again.status, 'released', again.outcomeMessage);
    fs.writeFileSync(path.join(ws.dir, '.release', 'runs', again.runId, 'journal.jsonl'), 'not a journal\n');
    const third = await (await Release.start(ws.options())).run();
    assert.equal(third.status, 'released', third.outcomeMessage);
  });
});
