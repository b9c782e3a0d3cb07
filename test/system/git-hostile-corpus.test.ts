import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { uncommittedGatedPlan } from '../../src/core/engine/gates/committedPlan';
import { loadPlanFile, parsePlan } from '../../src/core/plan/load';
import { planForEnvironment } from '../../src/core/plan/environments';
import { contains, userChanges } from '../../src/core/git/gate';
import { Release, GateError } from '../../src/core/engine/run/engine';
import { gitRepo, tempDir, write } from '../support/helpers';
import { smallPlan, workspace, journalLines, GATED_ENVIRONMENTS as GATES } from '../support/fixtures';
import { main } from '../../src/cli/cliMain';

/**
 * How git can be led to answer other than the repository says (replace refs and what else redirects git,
 * hidden dirty trees, plans in sub-folders, a resume under another plan, git unavailable), each as a hostile
 * corpus on real git.
 */
const gated = smallPlan({ extra: GATES });
const weak = smallPlan({ extra: 'environments:\n  staging: {}\n  production: {}\n' });

interface Repo {
  dir: string;
  git: (...args: string[]) => string;
  plan: string;
}

function repo(text = gated): Repo {
  const dir = tempDir('rp-githostile-');
  const git = gitRepo(dir);
  const plan = write(dir, '.release/plan.yaml', text);
  write(dir, 'app.sh', 'echo committed app\n');
  write(dir, '.gitignore', '.release/runs/\n.release/lock\n');
  git('add', '-A');
  git('commit', '-qm', 'feat: plan');
  return { dir, git, plan };
}

async function judge(ws: string, planFile: string): Promise<string | undefined> {
  const loaded = loadPlanFile(planFile);
  if (!loaded.ok) assert.fail(`the plan does not load: ${loaded.problems.map((p) => p.message).join('; ')}`);
  return uncommittedGatedPlan(ws, planFile, loaded.plan, loaded.text);
}

/** Runs `f` with these variables set (undefined: removed) in this process's environment, as a user's shell would have them. */
async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v))
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
  };
  set(vars);
  try {
    return await f();
  } finally {
    set(before);
  }
}

/** Writes the weakened plan into the working tree and makes `git replace` show it as HEAD's blob. */
function replacePlanBlob(r: Repo, env: Record<string, string> = {}): void {
  const old = r.git('rev-parse', 'HEAD:.release/plan.yaml');
  fs.writeFileSync(r.plan, weak);
  const blob = r.git('hash-object', '-w', '.release/plan.yaml');
  execFileSync('git', ['replace', old, blob], { cwd: r.dir, env: { ...process.env, ...env } });
  r.git('update-index', '--skip-worktree', '.release/plan.yaml');
}

describe('the product reads HEAD as committed, whatever redirects git (real git)', function () {
  this.timeout(60_000);

  const refused: [string, () => Promise<string | undefined>][] = [
    [
      'git replace of the plan blob (+ skip-worktree)',
      async () => {
        const r = repo();
        replacePlanBlob(r);
        assert.match(r.git('cat-file', 'blob', 'HEAD:.release/plan.yaml'), /production: \{\}/, 'plain git is fooled');
        return judge(r.dir, r.plan);
      },
    ],
    [
      'git replace of the plan blob with core.useReplaceRefs=true in the repository config',
      async () => {
        const r = repo();
        replacePlanBlob(r);
        r.git('config', 'core.useReplaceRefs', 'true');
        return judge(r.dir, r.plan);
      },
    ],
    [
      'git replace of the plan blob with core.useReplaceRefs=true through GIT_CONFIG_PARAMETERS',
      async () => {
        const r = repo();
        replacePlanBlob(r);
        return withEnv({ GIT_CONFIG_PARAMETERS: "'core.usereplacerefs'='true'" }, () => judge(r.dir, r.plan));
      },
    ],
    [
      'git replace under another namespace (GIT_REPLACE_REF_BASE=refs/elsewhere/)',
      async () => {
        const r = repo();
        replacePlanBlob(r, { GIT_REPLACE_REF_BASE: 'refs/elsewhere/' });
        assert.match(r.git('for-each-ref', 'refs/elsewhere/'), /refs\/elsewhere\//);
        return withEnv({ GIT_REPLACE_REF_BASE: 'refs/elsewhere/' }, () => judge(r.dir, r.plan));
      },
    ],
    [
      'git replace of the HEAD commit by one whose tree has the weakened plan',
      async () => {
        const r = repo();
        const head = r.git('rev-parse', 'HEAD');
        fs.writeFileSync(r.plan, weak);
        r.git('add', '.release/plan.yaml');
        const tree = r.git('write-tree');
        const fake = r.git('commit-tree', tree, '-m', 'feat: plan');
        r.git('reset', '-q');
        r.git('replace', head, fake);
        r.git('update-index', '--skip-worktree', '.release/plan.yaml');
        return judge(r.dir, r.plan);
      },
    ],
    [
      'GIT_DIR pointing at another repository whose HEAD has the weakened plan',
      async () => {
        const r = repo();
        const other = repo(weak);
        fs.writeFileSync(r.plan, weak);
        return withEnv({ GIT_DIR: path.join(other.dir, '.git') }, () => judge(r.dir, r.plan));
      },
    ],
    [
      'GIT_DIR + GIT_WORK_TREE pointing at another checkout',
      async () => {
        const r = repo();
        const other = repo(weak);
        fs.writeFileSync(r.plan, weak);
        return withEnv({ GIT_DIR: path.join(other.dir, '.git'), GIT_WORK_TREE: other.dir }, () => judge(r.dir, r.plan));
      },
    ],
    [
      'GIT_OBJECT_DIRECTORY + GIT_ALTERNATE_OBJECT_DIRECTORIES set to another repository (objects are by hash: still refused)',
      async () => {
        const r = repo();
        const other = repo(weak);
        fs.writeFileSync(r.plan, weak);
        const objects = path.join(r.dir, '.git', 'objects');
        return withEnv({ GIT_OBJECT_DIRECTORY: path.join(other.dir, '.git', 'objects'), GIT_ALTERNATE_OBJECT_DIRECTORIES: objects }, () =>
          judge(r.dir, r.plan),
        );
      },
    ],
    [
      'GIT_CEILING_DIRECTORIES hiding the repository from a workspace in a sub-folder (fails closed, or judges it)',
      async () => {
        const r = repo();
        const sub = path.join(r.dir, 'svc');
        const plan = write(sub, '.release/plan.yaml', weak);
        return withEnv({ GIT_CEILING_DIRECTORIES: r.dir }, () => judge(sub, plan));
      },
    ],
  ];
  for (const [title, attempt] of refused)
    it(`refuses ${title}`, async () => {
      const message = await attempt();
      assert.ok(message, 'expected a refusal');
      assert.match(message, /\.release\/plan\.yaml|git/);
    });

  it('a graft file does not make HEAD look merged into main (the git checklist and promotion read ancestry)', async () => {
    const r = repo();
    const base = r.git('rev-parse', 'HEAD');
    r.git('checkout', '-q', '-b', 'feature');
    write(r.dir, 'app.sh', 'echo feature\n');
    r.git('commit', '-qam', 'feat: unreviewed');
    const feature = r.git('rev-parse', 'HEAD');
    r.git('checkout', '-q', 'main');
    write(r.dir, 'notes.txt', 'x\n');
    r.git('add', '-A');
    r.git('commit', '-qm', 'docs: notes');
    const main = r.git('rev-parse', 'HEAD');
    fs.writeFileSync(path.join(r.dir, '.git', 'info', 'grafts'), `${main} ${feature}\n`);
    assert.equal(execFileSync('git', ['merge-base', '--is-ancestor', feature, 'main'], { cwd: r.dir, stdio: 'pipe' }).length, 0, 'plain git is fooled');
    assert.equal(await contains(r.dir, 'refs/heads/main', feature), false);
    assert.equal(await contains(r.dir, 'refs/heads/main', base), true, 'control: the real ancestry still answers');
  });

  it('GIT_WORK_TREE pointing at a clean copy does not make a dirty tree clean', async () => {
    const r = repo();
    const copy = tempDir('rp-copy-');
    execFileSync('git', ['--work-tree', copy, 'checkout', 'HEAD', '--', '.'], { cwd: r.dir });
    write(r.dir, 'app.sh', 'echo LOCAL\n');
    const dirty = await withEnv({ GIT_WORK_TREE: copy, GIT_DIR: path.join(r.dir, '.git') }, () => userChanges(r.dir));
    assert.deepEqual(dirty, ['app.sh']);
  });

  it('a file-system monitor hook that always says "nothing changed" does not make a dirty tree clean', async () => {
    const r = repo();
    const hook = write(tempDir('rp-fsmonitor-'), 'hook.sh', "#!/bin/sh\nprintf 'tok\\0'\n");
    fs.chmodSync(hook, 0o755);
    r.git('config', 'core.fsmonitor', hook);
    r.git('update-index', '--fsmonitor');
    r.git('status', '--porcelain');
    write(r.dir, 'app.sh', 'echo LOCAL\n');
    assert.equal(r.git('status', '--porcelain'), '', 'git status is fooled');
    assert.deepEqual(await userChanges(r.dir), ['app.sh']);
  });

  it('control: the committed plan, unchanged, with a replace ref elsewhere in the repository', async () => {
    const r = repo();
    write(r.dir, 'x.txt', 'x\n');
    const x = r.git('hash-object', '-w', 'x.txt');
    r.git('replace', r.git('rev-parse', 'HEAD:app.sh'), x);
    assert.equal(await judge(r.dir, r.plan), undefined);
  });
});

describe('a tracked file hidden from git status still makes the tree unclean (real git)', function () {
  this.timeout(60_000);

  const dirty: [string, (r: Repo) => void, RegExp][] = [
    [
      'changed, then skip-worktree',
      (r) => {
        write(r.dir, 'app.sh', 'echo LOCAL\n');
        r.git('update-index', '--skip-worktree', 'app.sh');
      },
      /^app\.sh \(changed, hidden from git status by skip-worktree\)$/,
    ],
    [
      'changed, then assume-unchanged',
      (r) => {
        write(r.dir, 'app.sh', 'echo LOCAL\n');
        r.git('update-index', '--assume-unchanged', 'app.sh');
      },
      /^app\.sh \(changed, hidden from git status by assume-unchanged\)$/,
    ],
    [
      'both bits set',
      (r) => {
        write(r.dir, 'app.sh', 'echo LOCAL\n');
        r.git('update-index', '--assume-unchanged', 'app.sh');
        r.git('update-index', '--skip-worktree', 'app.sh');
      },
      /^app\.sh \(changed, hidden from git status by skip-worktree\)$/,
    ],
    [
      'the release plan itself changed under skip-worktree',
      (r) => {
        fs.writeFileSync(r.plan, gated + '# local\n');
        r.git('update-index', '--skip-worktree', '.release/plan.yaml');
      },
      /^\.release\/plan\.yaml \(changed, hidden/,
    ],
    [
      'deleted under assume-unchanged',
      (r) => {
        r.git('update-index', '--assume-unchanged', 'app.sh');
        fs.rmSync(path.join(r.dir, 'app.sh'));
      },
      /^app\.sh \(deleted, hidden from git status by assume-unchanged\)$/,
    ],
    [
      'deleted under skip-worktree without a sparse checkout',
      (r) => {
        r.git('update-index', '--skip-worktree', 'app.sh');
        fs.rmSync(path.join(r.dir, 'app.sh'));
      },
      /^app\.sh \(deleted, hidden from git status by skip-worktree\)$/,
    ],
    [
      'a file with spaces and non-ASCII in a sub-folder',
      (r) => {
        write(r.dir, 'cfg/é t.conf', 'a\n');
        r.git('add', '-A');
        r.git('commit', '-qm', 'chore: conf');
        write(r.dir, 'cfg/é t.conf', 'b\n');
        r.git('update-index', '--skip-worktree', 'cfg/é t.conf');
      },
      /^cfg\/é t\.conf \(changed, hidden/,
    ],
    [
      'same size, same mtime kept (only the content differs)',
      (r) => {
        const f = path.join(r.dir, 'app.sh');
        const st = fs.statSync(f);
        fs.writeFileSync(f, 'echo COMMITTED app\n');
        fs.utimesSync(f, st.atime, st.mtime);
        r.git('update-index', '--assume-unchanged', 'app.sh');
      },
      /^app\.sh \(changed, hidden/,
    ],
    [
      'a symlink under skip-worktree',
      (r) => {
        fs.symlinkSync('app.sh', path.join(r.dir, 'link.sh'));
        r.git('add', '-A');
        r.git('commit', '-qm', 'chore: link');
        fs.rmSync(path.join(r.dir, 'link.sh'));
        fs.symlinkSync('.gitignore', path.join(r.dir, 'link.sh'));
        r.git('update-index', '--skip-worktree', 'link.sh');
      },
      /^link\.sh \(hidden from git status by skip-worktree; not a regular file/,
    ],
  ];
  for (const [title, make, why] of dirty)
    it(`counts as a change: ${title}`, async () => {
      const r = repo();
      make(r);
      assert.equal(r.git('status', '--porcelain'), '', 'git status is fooled');
      const changes = await userChanges(r.dir);
      assert.equal(changes.length, 1, changes.join('; '));
      assert.match(changes[0], why);
    });

  const clean: [string, (r: Repo) => void][] = [
    ['skip-worktree on an unchanged file', (r) => r.git('update-index', '--skip-worktree', 'app.sh')],
    [
      'assume-unchanged on an unchanged file whose mtime moved',
      (r) => {
        r.git('update-index', '--assume-unchanged', 'app.sh');
        fs.utimesSync(path.join(r.dir, 'app.sh'), new Date(), new Date(Date.now() + 5000));
      },
    ],
    [
      'a sparse checkout leaving a file out',
      (r) => {
        write(r.dir, 'docs/big.md', 'x\n');
        r.git('add', '-A');
        r.git('commit', '-qm', 'docs');
        r.git('sparse-checkout', 'set', '--no-cone', '/*', '!/docs/');
        assert.equal(fs.existsSync(path.join(r.dir, 'docs', 'big.md')), false);
      },
    ],
  ];
  for (const [title, make] of clean)
    it(`control: clean with ${title}`, async () => {
      const r = repo();
      make(r);
      assert.deepEqual(await userChanges(r.dir), []);
    });

  it('counts as a change, once: a present file with skip-worktree in a sparse checkout, changed (git 2.39 status sees it too)', async () => {
    const r = repo();
    r.git('config', 'core.sparseCheckout', 'true');
    write(r.dir, 'app.sh', 'echo LOCAL\n');
    r.git('update-index', '--skip-worktree', 'app.sh');
    assert.deepEqual(
      (await userChanges(r.dir)).map((f) => f.replace(/ \(.*/, '')),
      ['app.sh'],
    );
  });

  it('a staging run from a tree hidden-dirty by skip-worktree is journaled clean: false', async () => {
    const r = repo(smallPlan({ extra: 'environments:\n  staging: {}\n  production:\n    requires: { released: staging }\n' }));
    const ws = workspace(fs.readFileSync(r.plan, 'utf8'));
    for (const f of fs.readdirSync(ws.dir)) if (f !== '.release') fs.cpSync(path.join(ws.dir, f), path.join(r.dir, f), { recursive: true });
    r.git('add', '-A');
    r.git('commit', '-qm', 'chore: files');
    write(r.dir, 'app.sh', 'echo LOCAL\n');
    r.git('update-index', '--skip-worktree', 'app.sh');
    const loaded = loadPlanFile(r.plan);
    assert.ok(loaded.ok);
    const env = planForEnvironment(loaded.plan, 'staging');
    assert.ok(env.ok);
    const base = ws.options({ stopAfter: 'preparation' });
    const release = await Release.start({ ...base, workspace: r.dir, planFile: r.plan, plan: env.plan, planText: loaded.text });
    await release.run();
    const started = journalLines({ ...ws, dir: r.dir }, release.runId).find((e) => e.type === 'release.started');
    assert.equal(started?.clean, false);
  });
});

describe('gates committed anywhere in the repository hold for a plan in any sub-folder (real git)', function () {
  this.timeout(60_000);

  /** A repository with the gated plan committed at `gatedAt` (a folder of the repository). */
  function monorepo(gatedAt = ''): Repo {
    const r = repo(weak);
    fs.rmSync(r.plan);
    write(path.join(r.dir, gatedAt), '.release/plan.yaml', gated);
    r.git('add', '-A');
    r.git('commit', '-qm', 'feat: gated plan');
    return { ...r, plan: path.join(r.dir, gatedAt, '.release/plan.yaml') };
  }

  const refused: [string, () => { ws: string; plan: string }, RegExp][] = [
    [
      'an untracked x/.release/plan.yaml, workspace x',
      () => ((r) => ({ ws: path.join(r.dir, 'x'), plan: write(r.dir, 'x/.release/plan.yaml', weak) }))(monorepo()),
      /x\/\.release\/plan\.yaml is not committed/,
    ],
    [
      'an untracked x/.release/plan.yaml, workspace the top',
      () => ((r) => ({ ws: r.dir, plan: write(r.dir, 'x/.release/plan.yaml', weak) }))(monorepo()),
      /is not committed/,
    ],
    [
      'an untracked plan three folders deep',
      () => ((r) => ({ ws: path.join(r.dir, 'a/b/c'), plan: write(r.dir, 'a/b/c/.release/plan.yaml', weak) }))(monorepo()),
      /a\/b\/c\/\.release\/plan\.yaml is not committed/,
    ],
    [
      'an untracked plan beside a gated sibling service (services/a gated, services/b new)',
      () => ((r) => ({ ws: path.join(r.dir, 'services/b'), plan: write(r.dir, 'services/b/.release/plan.yaml', weak) }))(monorepo('services/a')),
      /services\/b\/\.release\/plan\.yaml is not committed/,
    ],
    [
      'a committed gate-free plan of a sibling service, edited and not committed',
      () => {
        const r = monorepo('services/a');
        const plan = write(r.dir, 'services/b/.release/plan.yaml', weak);
        r.git('add', '-A');
        r.git('commit', '-qm', 'feat: b');
        fs.writeFileSync(plan, weak + '# local\n');
        return { ws: path.join(r.dir, 'services/b'), plan };
      },
      /services\/b\/\.release\/plan\.yaml has changes not committed/,
    ],
    [
      'an untracked plan with another file name in a sub-folder',
      () => ((r) => ({ ws: path.join(r.dir, 'x'), plan: write(r.dir, 'x/.release/weak.yaml', weak) }))(monorepo()),
      /x\/\.release\/weak\.yaml is not committed/,
    ],
    [
      'an untracked plan in an ignored sub-folder',
      () =>
        ((r) => {
          fs.appendFileSync(path.join(r.dir, '.git', 'info', 'exclude'), 'x/\n');
          return { ws: path.join(r.dir, 'x'), plan: write(r.dir, 'x/.release/plan.yaml', weak) };
        })(monorepo()),
      /is not committed/,
    ],
    [
      'an untracked plan whose folder is a symlink into the repository',
      () =>
        ((r) => {
          write(r.dir, 'real/.release/plan.yaml', weak);
          fs.symlinkSync(path.join(r.dir, 'real'), path.join(r.dir, 'x'));
          return { ws: path.join(r.dir, 'x'), plan: path.join(r.dir, 'x/.release/plan.yaml') };
        })(monorepo()),
      /is not committed/,
    ],
    [
      'the gated plan committed only in a deep folder, an untracked one at the top',
      () => ((r) => ({ ws: r.dir, plan: write(r.dir, '.release/plan.yaml', weak) }))(monorepo('deep/er')),
      /^the release plan \.release\/plan\.yaml is not committed/,
    ],
    [
      'a plan outside the repository, the workspace a sub-folder of it',
      () => ((r) => ({ ws: path.join(r.dir, 'x'), plan: write(tempDir('rp-outside-'), 'plan.yaml', weak) }))(monorepo()),
      /is outside the repository .*whose plans declare environment gates: gates \(approvals/,
    ],
  ];
  for (const [title, make, why] of refused)
    it(`refuses ${title}`, async () => {
      const { ws, plan } = make();
      fs.mkdirSync(ws, { recursive: true });
      const message = await judge(ws, plan);
      assert.ok(message, 'expected a refusal');
      assert.match(message, why);
    });

  it('control (documented limit): a second plan committed under another name, without gates, may be used', async () => {
    const r = monorepo();
    const other = write(r.dir, '.release/other.yaml', weak);
    r.git('add', '-A');
    r.git('commit', '-qm', 'chore: other');
    assert.equal(await judge(r.dir, other), undefined);
  });
  it('control: an untracked plan in a sub-folder of a repository where no committed plan has gates', async () => {
    const r = repo(weak);
    assert.equal(await judge(path.join(r.dir, 'x'), write(r.dir, 'x/.release/plan.yaml', weak)), undefined);
  });
});

describe('a run that judged environment gates resumes only under the plan it started with (real git)', function () {
  this.timeout(60_000);
  const PAST_FREEZE = `environments:
  staging: {}
  production:
    freeze:
      - { from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z", reason: "old freeze" }
`;

  async function pausedRun() {
    const ws = workspace(smallPlan({ extra: PAST_FREEZE }));
    write(ws.dir, '.gitignore', '.release/runs/\n.release/lock\n*.txt\n');
    const git = gitRepo(ws.dir);
    const other = write(ws.dir, '.release/other.yaml', smallPlan({ extra: 'environments:\n  staging: {}\n  production: {}\n' }));
    git('add', '-A');
    git('commit', '-qm', 'feat: plans');
    const forEnv = (file: string) => {
      const loaded = parsePlan(fs.readFileSync(file, 'utf8'), file);
      assert.ok(loaded.ok);
      const env = planForEnvironment(loaded.plan, 'production');
      assert.ok(env.ok);
      return { planFile: file, plan: env.plan, planText: fs.readFileSync(file, 'utf8') };
    };
    const first = await (await Release.start(ws.options({ ...forEnv(ws.planFile), stopAfter: 'preparation' }))).run();
    assert.equal(first.status, 'paused', first.outcomeMessage);
    assert.ok(
      journalLines(ws, first.runId).some((e) => e.type === 'gate.changed' && e.gate === 'freeze'),
      'the freeze gate was judged',
    );
    return { ws, git, other, forEnv, runId: first.runId };
  }

  it('refuses `resume --plan OTHER` (committed, without gates), naming both plans and what to do', async () => {
    const p = await pausedRun();
    const run = (await Release.reopen(p.ws.options(p.forEnv(p.other)), p.runId)).run();
    await assert.rejects(
      run,
      (e: Error) =>
        e instanceof GateError &&
        e.gate === 'plan-changed' &&
        /started with the plan \.release\/plan\.yaml, and this resume names \.release\/other\.yaml/.test(e.message) &&
        /release-pilot resume --plan \.release\/plan\.yaml/.test(e.message) &&
        /release-pilot abandon /.test(e.message),
    );
  });

  it('refuses a resume after the gates were removed in a new commit', async () => {
    const p = await pausedRun();
    fs.writeFileSync(p.ws.planFile, fs.readFileSync(p.other, 'utf8'));
    p.git('commit', '-qam', 'chore: no freeze');
    const run = (await Release.reopen(p.ws.options(p.forEnv(p.ws.planFile)), p.runId)).run();
    await assert.rejects(
      run,
      (e: Error) =>
        e instanceof GateError &&
        e.gate === 'plan-changed' &&
        /changed since run .* started, and its environments have gates .* \(plan hash [0-9a-f]{12} then, [0-9a-f]{12} now\)/.test(e.message),
    );
  });

  it('control: resumes with the plan it started with', async () => {
    const p = await pausedRun();
    const done = await (await Release.reopen(p.ws.options({ ...p.forEnv(p.ws.planFile), stopAfter: 'backup' }), p.runId)).run();
    assert.notEqual(done.status, 'aborted', done.outcomeMessage);
  });
});

describe('git unavailable in a repository fails closed (real git)', function () {
  this.timeout(60_000);
  const noGitPath = () => {
    const bin = tempDir('rp-nogit-bin-');
    for (const tool of ['bash', 'sh']) fs.symlinkSync(execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), path.join(bin, tool));
    return bin;
  };

  const refused: [string, () => Promise<string | undefined>, RegExp][] = [
    [
      'git not on PATH, gates removed in an uncommitted edit',
      async () => {
        const r = repo();
        fs.writeFileSync(r.plan, weak);
        return withEnv({ PATH: noGitPath() }, () => judge(r.dir, r.plan));
      },
      /holds a git repository .*but git cannot read it: .*ENOENT.*install git, or put it on PATH/,
    ],
    [
      'git not on PATH, a plan that never had gates (any run is refused)',
      async () => {
        const r = repo(weak);
        return withEnv({ PATH: noGitPath() }, () => judge(r.dir, r.plan));
      },
      /git cannot read it/,
    ],
    [
      'git not on PATH, the workspace a sub-folder of the repository',
      async () => {
        const r = repo();
        const plan = write(r.dir, 'svc/.release/plan.yaml', weak);
        return withEnv({ PATH: noGitPath() }, () => judge(path.join(r.dir, 'svc'), plan));
      },
      /git cannot read it/,
    ],
    [
      '.git is a file naming a gitdir that does not exist',
      async () => {
        const dir = tempDir('rp-badgitfile-');
        fs.writeFileSync(path.join(dir, '.git'), 'gitdir: /nonexistent/repo\n');
        return judge(dir, write(dir, '.release/plan.yaml', weak));
      },
      /holds a git repository .*git cannot read it: fatal: not a git repository/,
    ],
    [
      '.git/HEAD corrupted',
      async () => {
        const r = repo();
        fs.writeFileSync(r.plan, weak);
        fs.writeFileSync(path.join(r.dir, '.git', 'HEAD'), 'garbage\n');
        return judge(r.dir, r.plan);
      },
      /git cannot read it/,
    ],
    [
      "GIT_DIR=/nonexistent in the caller's environment (ignored: the workspace's repository is judged)",
      async () => {
        const r = repo();
        fs.writeFileSync(r.plan, weak);
        return withEnv({ GIT_DIR: '/nonexistent' }, () => judge(r.dir, r.plan));
      },
      /has changes not committed/,
    ],
  ];
  for (const [title, attempt, why] of refused)
    it(`refuses: ${title}`, async () => {
      const message = await attempt();
      assert.ok(message, 'expected a refusal');
      assert.match(message, why);
    });

  it('refuses a repository owned by another user with git\'s "dubious ownership" and the safe.directory fix', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const r = repo();
    const home = tempDir('rp-home-');
    execFileSync('chown', ['-R', '65534:65534', r.dir]);
    const message = await withEnv({ HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: undefined }, () => judge(r.dir, r.plan));
    assert.ok(message);
    assert.match(message, /dubious ownership.*safe\.directory/);
  });

  it('control: a workspace with no .git anywhere above it releases as before', async () => {
    const dir = tempDir('rp-plain-');
    assert.equal(await withEnv({ PATH: noGitPath() }, () => judge(dir, write(dir, '.release/plan.yaml', gated))), undefined);
  });
});

describe('messages: a plan committed as a symlink out of the repository, a plan path outside the current folder', function () {
  this.timeout(60_000);

  it('names the committed symlink, not "HEAD has no such file"', async () => {
    const r = repo();
    const outside = write(tempDir('rp-linked-'), 'plan.yaml', weak);
    fs.rmSync(r.plan);
    fs.symlinkSync(outside, r.plan);
    r.git('add', '-A');
    r.git('commit', '-qm', 'chore: plan is a link out');
    write(r.dir, 'svc/.release/plan.yaml', gated);
    r.git('add', '-A');
    r.git('commit', '-qm', 'feat: gated service');
    const message = await judge(r.dir, r.plan);
    assert.ok(message);
    assert.match(
      message,
      new RegExp(`is not committed \\(HEAD has a symlink to ${outside.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, which leads out of the repository`),
    );
  });

  it('`--plan /nonexistent.yaml` is shown as written, not as ../../nonexistent.yaml', async () => {
    let err = '';
    const code = await main(['validate', '--plan', '/nonexistent-rp-plan.yaml'], { out: () => undefined, err: (t) => (err += t + '\n') });
    assert.notEqual(code, 0);
    assert.match(err, /^\/nonexistent-rp-plan\.yaml:1:1: /m);
  });
});
