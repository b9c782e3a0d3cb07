import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { uncommittedGatedPlan } from '../../src/core/engine/gates/committedPlan';
import { loadPlanFile } from '../../src/core/plan/load';
import { main } from '../../src/cli/cliMain';
import { runIds } from '../../src/core/engine/queries/runs';
import { gitRepo, tempDir, write } from '../support/helpers';
import { smallPlan, GATED_ENVIRONMENTS as GATES } from '../support/fixtures';

const gated = smallPlan({ extra: GATES });
/** The same plan with the gates an operator would like gone. */
const noApprovals = gated.replace('    approvals: { count: 1, signed: true }\n', '');
const noRequires = gated.replace('    requires: { released: staging }\n', '');
const ungated = smallPlan({ extra: 'environments:\n  staging: {}\n  production: {}\n' });

interface Repo {
  dir: string;
  git: (...args: string[]) => string;
  /** The workspace (the repository, or a folder of it). */
  ws: string;
  plan: string;
}

/** A repository with `text` committed as the workspace's `.release/plan.yaml` (the workspace may be a subfolder). */
function repo(text = gated, sub = ''): Repo {
  const dir = tempDir('rp-committed-');
  const git = gitRepo(dir);
  const ws = path.join(dir, sub);
  const plan = write(ws, '.release/plan.yaml', text);
  git('add', '-A');
  git('commit', '-qm', 'feat: plan');
  return { dir, git, ws, plan };
}

/** What the engine would say of `planFile` for workspace `ws`, the plan loaded from disk as the CLI loads it. */
async function judge(ws: string, planFile: string): Promise<string | undefined> {
  const loaded = loadPlanFile(planFile);
  if (!loaded.ok) assert.fail(`the plan does not load: ${loaded.problems.map((p) => p.message).join('; ')}`);
  return uncommittedGatedPlan(ws, planFile, loaded.plan, loaded.text);
}

/**
 * The hostile corpus of the committed gates: each entry tries to release with gates other than those committed at HEAD, with a real
 * repository; each must be refused, naming the file and what to do. The controls must pass.
 */
describe('gates come from the committed plan: hostile corpus (real git)', function () {
  this.timeout(60_000);

  const refused: [string, () => Promise<{ ws: string; plan: string }> | { ws: string; plan: string }, RegExp][] = [
    [
      'an uncommitted edit deleting approvals:',
      () => {
        const r = repo();
        fs.writeFileSync(r.plan, noApprovals);
        return r;
      },
      /\.release\/plan\.yaml has changes not committed: .*Commit the plan \(git add \.release\/plan\.yaml && git commit\)/,
    ],
    [
      'an uncommitted edit deleting requires:',
      () => {
        const r = repo();
        fs.writeFileSync(r.plan, noRequires);
        return r;
      },
      /has changes not committed/,
    ],
    [
      'the edit staged but not committed',
      () => {
        const r = repo();
        fs.writeFileSync(r.plan, noApprovals);
        r.git('add', '.release/plan.yaml');
        return r;
      },
      /has changes staged but not committed/,
    ],
    [
      'an untracked plan with gates (never committed)',
      () => {
        const r = repo(ungated);
        return { ws: r.ws, plan: write(r.ws, '.release/new.yaml', gated) };
      },
      /\.release\/new\.yaml is not committed \(HEAD has no such file: untracked, new or renamed\).*Commit it/,
    ],
    [
      'a gitignored plan with gates',
      () => {
        const r = repo(ungated);
        write(r.dir, '.gitignore', 'local.yaml\n');
        r.git('add', '.gitignore');
        r.git('commit', '-qm', 'chore: ignore');
        return { ws: r.ws, plan: write(r.ws, '.release/local.yaml', gated) };
      },
      /local\.yaml is not committed/,
    ],
    [
      '--plan outside the repository, without the gates the committed plan has',
      () => {
        const r = repo();
        return { ws: r.ws, plan: write(tempDir('rp-outside-'), 'plan.yaml', noApprovals) };
      },
      /plan\.yaml is outside the repository .* Release with the plan committed in the repository \(--plan \.release\/plan\.yaml\)/,
    ],
    [
      '--plan naming another, untracked file of the repository without gates',
      () => {
        const r = repo();
        return { ws: r.ws, plan: write(r.ws, '.release/other.yaml', ungated) };
      },
      /other\.yaml is not committed/,
    ],
    [
      'the plan renamed (git mv, staged) and edited',
      () => {
        const r = repo();
        r.git('mv', '.release/plan.yaml', '.release/renamed.yaml');
        const plan = path.join(r.ws, '.release/renamed.yaml');
        fs.writeFileSync(plan, noApprovals);
        return { ws: r.ws, plan };
      },
      /renamed\.yaml is not committed/,
    ],
    [
      '--plan ./x/../.release/plan.yaml, the plan edited',
      () => {
        const r = repo();
        fs.writeFileSync(r.plan, noApprovals);
        return { ws: r.ws, plan: path.join(r.ws, 'x', '..', '.release', 'plan.yaml') };
      },
      /\.release\/plan\.yaml has changes not committed/,
    ],
    [
      'a plan in a subfolder of the repository, edited',
      () => {
        const r = repo(gated, 'services/api');
        fs.writeFileSync(r.plan, noApprovals);
        return r;
      },
      /services\/api\/\.release\/plan\.yaml has changes not committed/,
    ],
    [
      'the committed plan replaced in the working tree by a symlink to a file outside, without gates',
      () => {
        const r = repo();
        const outside = write(tempDir('rp-outside-'), 'plan.yaml', noApprovals);
        fs.rmSync(r.plan);
        fs.symlinkSync(outside, r.plan);
        return r;
      },
      /\.release\/plan\.yaml has changes not committed/,
    ],
    [
      'a committed symlink to a gated plan, repointed (uncommitted) to a committed plan without gates',
      () => {
        const r = repo(ungated);
        write(r.ws, 'plans/prod.yaml', gated);
        write(r.ws, 'plans/lax.yaml', noApprovals);
        fs.rmSync(r.plan);
        fs.symlinkSync('../plans/prod.yaml', r.plan);
        r.git('add', '-A');
        r.git('commit', '-qm', 'chore: plan is a link');
        fs.rmSync(r.plan);
        fs.symlinkSync('../plans/lax.yaml', r.plan);
        return r;
      },
      /\.release\/plan\.yaml has changes not committed/,
    ],
    [
      'the committed .release folder, a symlink to gated plans, repointed (uncommitted) to a folder without gates',
      () => {
        const r = repo(ungated);
        write(r.ws, 'strict/plan.yaml', gated);
        write(r.ws, 'lax/plan.yaml', noApprovals);
        fs.rmSync(path.join(r.ws, '.release'), { recursive: true });
        fs.symlinkSync('strict', path.join(r.ws, '.release'));
        r.git('add', '-A');
        r.git('commit', '-qm', 'chore: plans by link');
        fs.rmSync(path.join(r.ws, '.release'));
        fs.symlinkSync('lax', path.join(r.ws, '.release'));
        return r;
      },
      /plan\.yaml has changes not committed/,
    ],
    [
      'the signature requirement dropped (signed: false), all else as committed',
      () => {
        const r = repo();
        fs.writeFileSync(r.plan, gated.replace('signed: true', 'signed: false'));
        return r;
      },
      /has changes not committed/,
    ],
    [
      'only a comment added (the whole file is compared, not a guess at what matters)',
      () => {
        const r = repo();
        fs.writeFileSync(r.plan, gated + '# harmless?\n');
        return r;
      },
      /has changes not committed/,
    ],
    [
      'a clean filter that makes git status report the edited plan as unchanged',
      () => {
        const r = repo();
        const committed = write(tempDir('rp-filter-'), 'committed.yaml', gated);
        r.git('config', 'filter.same.clean', `cat ${committed}`);
        write(r.dir, '.git/info/attributes', '*.yaml filter=same\n');
        fs.writeFileSync(r.plan, noApprovals);
        // Added through the filter: the index gets the committed blob, and status sees nothing.
        r.git('add', '.release/plan.yaml');
        assert.equal(r.git('status', '--porcelain'), '', 'git status is fooled');
        return r;
      },
      /has changes not committed/,
    ],
    [
      'the plan marked assume-unchanged, then edited',
      () => {
        const r = repo();
        r.git('update-index', '--assume-unchanged', '.release/plan.yaml');
        fs.writeFileSync(r.plan, noApprovals);
        assert.equal(r.git('status', '--porcelain'), '', 'git status is fooled');
        return r;
      },
      /has changes not committed/,
    ],
    [
      'a plan named like a glob ([p]lan.yaml), edited, beside a committed plan.yaml that matches the glob',
      () => {
        const r = repo();
        const glob = write(r.ws, '.release/[p]lan.yaml', gated);
        r.git('add', '-A');
        r.git('commit', '-qm', 'chore: a second plan');
        fs.writeFileSync(glob, noApprovals);
        return { ws: r.ws, plan: glob };
      },
      /\[p\]lan\.yaml has changes not committed/,
    ],
    [
      'a gated plan in a repository with no commit yet',
      () => {
        const dir = tempDir('rp-unborn-');
        gitRepo(dir);
        return { ws: dir, plan: write(dir, '.release/plan.yaml', gated) };
      },
      /is not committed/,
    ],
    [
      'an empty plan committed (it cannot say it has no gates), a plan without gates in the working tree',
      () => {
        const r = repo();
        fs.writeFileSync(r.plan, '');
        r.git('commit', '-qam', 'chore: empty plan');
        fs.writeFileSync(r.plan, ungated);
        return r;
      },
      /has changes not committed/,
    ],
  ];

  for (const [title, make, why] of refused)
    it(`refuses ${title}`, async () => {
      const { ws, plan } = await make();
      const message = await judge(ws, plan);
      assert.ok(message, 'expected a refusal');
      assert.match(message, why);
    });

  const allowed: [string, () => { ws: string; plan: string }][] = [
    ['the committed plan, unchanged', () => repo()],
    [
      'the committed plan checked out with CRLF line endings (autocrlf)',
      () => {
        const r = repo();
        fs.writeFileSync(r.plan, gated.replace(/\n/g, '\r\n'));
        return r;
      },
    ],
    [
      'the committed plan with a BOM added (the loader drops it)',
      () => {
        const r = repo();
        fs.writeFileSync(r.plan, '\ufeff' + gated);
        return r;
      },
    ],
    ['--plan ./x/../.release/plan.yaml, committed', () => ((r) => ({ ws: r.ws, plan: path.join(r.ws, 'x', '..', '.release', 'plan.yaml') }))(repo())],
    ['a committed plan in a subfolder of the repository', () => repo(gated, 'services/api')],
    [
      'a committed symlink to a committed gated plan',
      () => {
        const r = repo(ungated);
        write(r.ws, 'plans/prod.yaml', gated);
        fs.rmSync(r.plan);
        fs.symlinkSync('../plans/prod.yaml', r.plan);
        r.git('add', '-A');
        r.git('commit', '-qm', 'chore: plan is a link');
        return r;
      },
    ],
    [
      'a plan without any gate, edited and untracked, where nothing committed has gates',
      () => {
        const r = repo(ungated);
        fs.writeFileSync(r.plan, ungated + '# local note\n');
        return r;
      },
    ],
    [
      'a workspace that is no git repository (promotion and approvals then refuse on their own)',
      () => {
        const dir = tempDir('rp-nogit-');
        return { ws: dir, plan: write(dir, '.release/plan.yaml', gated) };
      },
    ],
  ];
  for (const [title, make] of allowed)
    it(`control: accepts ${title}`, async () => {
      const { ws, plan } = make();
      assert.equal(await judge(ws, plan), undefined);
    });
});

describe('gates come from the committed plan: through the CLI', function () {
  this.timeout(60_000);
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') });
    return { code, out, err };
  };

  it('refuses `run --plan OUTSIDE --workspace REPO` and `approve` of an edited plan; starts no run', async () => {
    const r = repo();
    const outside = write(tempDir('rp-outside-'), 'plan.yaml', noApprovals);
    const run = await cli('run', '--yes', '--env', 'production', '--plan', outside, '--workspace', r.ws);
    assert.equal(run.code, 1, run.err + run.out);
    assert.match(run.err, /is outside the repository/);
    assert.equal(runIds(r.ws).length, 0);
    fs.writeFileSync(r.plan, noRequires);
    const staging = await cli('run', '--yes', '--env', 'staging', '--plan', r.plan);
    assert.equal(staging.code, 1, staging.err + staging.out);
    assert.match(staging.err, /has changes not committed/);
    assert.equal(runIds(r.ws).length, 0);
    const approve = await cli('approve', '1.2.3', '--env', 'production', '--plan', r.plan);
    assert.equal(approve.code, 1, approve.err + approve.out);
    assert.match(approve.err, /has changes not committed: .*then approve again/);
    assert.equal(r.git('tag', '-l', 'release-pilot/*'), '', 'no approval tag was written');
  });
});
