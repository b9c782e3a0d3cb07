import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, copyDir, write } from '../support/helpers';
import { blueGreenPlan, blueGreenRepo } from '../support/fixtures';

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** A git repo with the blue-green plan, `head` before `release:` and the deploy writing `what`. */
function repo(head: string, what: string, extraPhases = ''): string {
  const plan = blueGreenPlan({ head, deployed: what, phases: extraPhases });
  return blueGreenRepo(plan, { prefix: 'rp-envinputs-', tag: 'v1.0.0', identity: { name: 'Operator', email: 'op@x.io' } }).dir;
}

/** The real CLI in `dir`, with `env` over this process's environment (a value undefined: unset). */
function cli(dir: string, env: Record<string, string | undefined>, ...args: string[]) {
  const full: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env))
    if (v === undefined) delete full[k];
    else full[k] = v;
  const r = spawnSync('node', [CLI, ...args], { encoding: 'utf8', cwd: dir, env: full, timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

const asAlice = {
  GIT_CONFIG_COUNT: '2',
  GIT_CONFIG_KEY_0: 'user.email',
  GIT_CONFIG_VALUE_0: 'alice@x.io',
  GIT_CONFIG_KEY_1: 'user.name',
  GIT_CONFIG_VALUE_1: 'Alice',
};
const green = (dir: string) => {
  const f = path.join(dir, 'state/green.ver');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : undefined;
};

describe('the ${env:…} values a plan reads are run inputs (approval, resume, promotion; real CLI, real git)', function () {
  this.timeout(180_000);

  describe('approvals bind the ${env:…} values the approver reviewed', () => {
    const head = 'notSecret: [IMAGE]\nenvironments:\n  production:\n    approvals: { count: 1, from: [alice@x.io] }\n';
    /** A repository approved by Alice with `approver`'s environment: approved once per environment, a fresh copy for each test. */
    const approved = (approver: Record<string, string | undefined>) => copyDir((approvedOnce[JSON.stringify(approver)] ??= approve(approver)), 'rp-envinputs-');
    const approvedOnce: Record<string, string> = {};
    const approve = (approver: Record<string, string | undefined>) => {
      const dir = repo(head, '${env:IMAGE} > state/${deploy.color}.ver #');
      const a = cli(dir, { ...asAlice, ...approver }, 'approve', '1.0.0', '--env', 'production');
      assert.equal(a.code, 0, a.out);
      return dir;
    };

    it('control: approved and released with the same IMAGE: the approval counts, the reviewed image ships', () => {
      const dir = approved({ IMAGE: 'app:1.0.0-reviewed' });
      const r = cli(dir, { IMAGE: 'app:1.0.0-reviewed' }, 'run', '--env', 'production', '--yes');
      assert.equal(r.code, 0, r.out);
      assert.equal(green(dir), 'app:1.0.0-reviewed');
    });

    const corpus: [string, string | undefined, string | undefined, RegExp][] = [
      ['another image', 'app:1.0.0-reviewed', 'app:evil', /\$\{env:IMAGE\} \(approved "app:1\.0\.0-reviewed", this release "app:evil"\)/],
      [
        'a trailing blank',
        'app:1.0.0-reviewed',
        'app:1.0.0-reviewed ',
        /\$\{env:IMAGE\} \(approved "app:1\.0\.0-reviewed", this release "app:1\.0\.0-reviewed "\)/,
      ],
      ['a unicode look-alike', 'app:1.0.0-reviewed', 'аpp:1.0.0-reviewed', /\$\{env:IMAGE\} \(approved "app:1\.0\.0-reviewed", this release "аpp/],
      ['an empty value', 'app:1.0.0-reviewed', '', /\$\{env:IMAGE\} \(approved "app:1\.0\.0-reviewed", this release ""\)/],
      ['an approver without IMAGE set', undefined, 'app:evil', /\$\{env:IMAGE\} \(approved unset, this release "app:evil"\)/],
    ];
    for (const [title, atApproval, atRelease, why] of corpus)
      it(`voids the approval for ${title} at release, naming the variable and both values; nothing deploys`, () => {
        const dir = approved({ IMAGE: atApproval });
        const r = cli(dir, { IMAGE: atRelease }, 'run', '--env', 'production', '--yes');
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /approval gate/);
        assert.match(r.out, why);
        assert.equal(green(dir), undefined, 'nothing deployed');
      });

    it('a masked value counts by its hash and is never shown: another secret voids the approval', () => {
      const dir = repo(head.replace('notSecret: [IMAGE]\n', ''), '${env:IMAGE} > state/${deploy.color}.ver #');
      assert.equal(cli(dir, { ...asAlice, IMAGE: 'reviewed-secret-value' }, 'approve', '1.0.0', '--env', 'production').code, 0);
      const r = cli(dir, { IMAGE: 'other-secret-value' }, 'run', '--env', 'production', '--yes');
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, /\$\{env:IMAGE\} \(approved a secret, this release a secret\)/);
      assert.doesNotMatch(r.out, /reviewed-secret-value|other-secret-value/);
      const ok = cli(dir, { IMAGE: 'reviewed-secret-value' }, 'run', '--env', 'production', '--yes');
      assert.equal(ok.code, 0, ok.out);
    });
  });

  describe('a resume runs with the ${env:…} values its run started with', () => {
    const prep = '  preparation:\n    steps:\n      - name: prep\n        run: echo prep-image=${env:IMAGE}; test -e state/go\n';
    const paused = () => {
      const dir = repo('notSecret: [IMAGE]\n', '${env:IMAGE} > state/${deploy.color}.ver #', prep);
      const r = cli(dir, { IMAGE: 'app:1.0.0-good' }, 'run', '--yes');
      assert.notEqual(r.code, 0, r.out);
      write(dir, 'state/go', '');
      return dir;
    };
    for (const [title, value, why] of [
      ['another value', 'app:EVIL', /\$\{env:IMAGE\}: run \S+ started with "app:1\.0\.0-good", it is "app:EVIL" now/],
      ['the value unset', undefined, /\$\{env:IMAGE\}: run \S+ started with "app:1\.0\.0-good", it is not set now/],
    ] as const)
      it(`refuses (exit 2) with ${title}, naming the variable and both values; nothing deploys`, () => {
        const dir = paused();
        const r = cli(dir, { IMAGE: value }, 'resume', '--yes');
        assert.equal(r.code, 2, r.out);
        assert.match(r.out, why);
        assert.match(r.out, /Restore the environment values it started with/);
        assert.equal(green(dir), undefined, 'nothing deployed');
      });

    it('control: resumed with the same value, it goes on and ships what it started with', () => {
      const dir = paused();
      const r = cli(dir, { IMAGE: 'app:1.0.0-good' }, 'resume', '--yes');
      assert.equal(r.code, 0, r.out);
      assert.equal(green(dir), 'app:1.0.0-good');
    });
  });

  describe('promotion counts a staging run only with the same run inputs', () => {
    const head =
      'notSecret: [IMAGE]\nvariables:\n  IMG: none\n  WHERE: none\nenvironments:\n  staging:\n    variables: { WHERE: stage }\n  production:\n    variables: { WHERE: prod }\n    requires: { released: staging, maxAge: 1d }\n';
    /** A repository released to staging with `env` and `vars`: staged once per set of inputs, a fresh copy for each test. */
    const staged = (env: Record<string, string>, ...vars: string[]) =>
      copyDir((stagedOnce[JSON.stringify([env, vars])] ??= stage(env, ...vars)), 'rp-envinputs-');
    const stagedOnce: Record<string, string> = {};
    const stage = (env: Record<string, string>, ...vars: string[]) => {
      const dir = repo(head, '${var.IMG}-${env:IMAGE}-${var.WHERE} > state/${deploy.color}.ver #');
      const r = cli(dir, env, 'run', '--env', 'staging', '--yes', ...vars);
      assert.equal(r.code, 0, r.out);
      return dir;
    };

    it('control: the same --var and ${env:} values: the gate opens (per-environment plan variables differ by design)', () => {
      const dir = staged({ IMAGE: 'app:one' }, '--var', 'IMG=good');
      const r = cli(dir, { IMAGE: 'app:one' }, 'run', '--env', 'production', '--yes', '--var', 'IMG=good');
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /promotion/i);
      assert.equal(fs.readFileSync(path.join(dir, 'state/blue.ver'), 'utf8').trim(), 'good-app:one-prod');
    });

    for (const [title, env, vars, why] of [
      ['--var IMG=evil', { IMAGE: 'app:one' }, ['--var', 'IMG=evil'], /--var IMG: run \S+ had "good", this release has "evil"/],
      ['no --var', { IMAGE: 'app:one' }, [], /--var IMG: run \S+ had "good", this release has unset/],
      ['another ${env:IMAGE}', { IMAGE: 'app:two' }, ['--var', 'IMG=good'], /\$\{env:IMAGE\}: run \S+ had "app:one", this release has "app:two"/],
    ] as const)
      it(`keeps the gate shut for a production run with ${title}, naming what differs; nothing deploys`, () => {
        const dir = staged({ IMAGE: 'app:one' }, '--var', 'IMG=good');
        const r = cli(dir, env, 'run', '--env', 'production', '--yes', ...vars);
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /promotion gate/);
        assert.match(r.out, why);
        // Staging deployed the green colour; production would deploy blue.
        assert.ok(!fs.existsSync(path.join(dir, 'state/blue.ver')), 'nothing deployed to production');
      });
  });
});
