import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { loadPlanFile } from '../../src/core/plan/load';
import { EXAMPLE_TEMPLATES, PLAN_TEMPLATES } from '../../src/core/plan/templates';
import { main } from '../../src/cli/cliMain';
import { ROOT, gitRepo, tempDir, write } from '../support/helpers';

const TEMPLATE_DIR = path.join(ROOT, 'dist', 'templates');

/** `release-pilot …` in this process, its output captured. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`) });
  return { code, out, err };
}

describe('plan templates', () => {
  it('the build copies exactly the templates Create Release Plan and init offer', () => {
    assert.deepEqual(
      fs.readdirSync(TEMPLATE_DIR).sort(),
      Object.keys(PLAN_TEMPLATES)
        .map((n) => `${n}.yaml`)
        .sort(),
    );
  });

  // These restore the database among rollback.steps, over every write since the backup, uncounted:
  // validate says so until their restore moves to rollback.database.
  const RESTORE_IN_STEPS = ['nginx-postgres'];
  for (const name of Object.keys(PLAN_TEMPLATES)) {
    it(`${name} loads with the real loader, without a problem or a warning${RESTORE_IN_STEPS.includes(name) ? ' but the uncounted restore' : ''}`, () => {
      const r = loadPlanFile(path.join(TEMPLATE_DIR, `${name}.yaml`));
      assert.ok(r.ok, r.ok ? '' : r.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n'));
      assert.deepEqual(
        r.warnings.map((w) => w.path),
        RESTORE_IN_STEPS.includes(name) ? ['phases.migration'] : [],
        r.warnings.map((w) => w.message).join('\n'),
      );
    });
  }

  for (const name of ['nginx-postgres', 'systemd']) {
    it(`${name} marks the values a user fills in at the top: release, variables, env and monitoring`, () => {
      const text = fs.readFileSync(path.join(TEMPLATE_DIR, `${name}.yaml`), 'utf8');
      const start = text.indexOf('# ---- FILL IN ---');
      const end = text.indexOf('# ---- FILL IN ends');
      assert.ok(start > 0 && end > start);
      const block = text.slice(start, end);
      for (const key of ['release:', 'variables:', 'env:', 'monitoring:']) assert.match(block, new RegExp(`^${key}`, 'm'), key);
      assert.doesNotMatch(text.slice(end), /^(release|variables|env|monitoring):/m, 'nothing to fill in below the block');
    });
  }
});

/**
 * The templates' commands never paste a value a user fills in (or a path of the workspace) into
 * their text, where a quote, a $ or a backslash in it would break the command or run as shell: the
 * values reach bash as environment variables (`"$PLAN_STATE_DIR"`, `"$BACKUP"`). template-nginx-
 * postgres.test.ts releases with such values; this holds the rule for every template of templates/.
 */
describe('plan templates: values reach the shell as variables', () => {
  const PASTED = /\$\{(var\.[A-Za-z_]\w*|run\.dir|backup\.path)\}/;
  for (const name of ['nginx-postgres', 'systemd']) {
    it(`${name}: no command pastes a variable, the run folder or the backup path into its text`, () => {
      const pasted: string[] = [];
      const walk = (node: unknown, key: string): void => {
        if (typeof node === 'string') {
          if (['run', 'command', 'active'].includes(key) && PASTED.test(node)) pasted.push(`${key}: ${node.split('\n').find((l) => PASTED.test(l))}`);
        } else if (Array.isArray(node)) node.forEach((n) => walk(n, key));
        else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, k);
      };
      walk(parseYaml(fs.readFileSync(path.join(ROOT, 'templates', `${name}.yaml`), 'utf8')), '');
      assert.deepEqual(pasted, []);
    });
  }
});

/**
 * `release-pilot init`, asked for what a user may mistype or a script may pass. Each case: the exit
 * code, what is printed, and what is on disk afterwards.
 */
describe('release-pilot init', () => {
  it('lists the templates without --template, writing nothing', async () => {
    const dir = tempDir();
    const r = await cli('init', '--workspace', dir);
    assert.equal(r.code, 0);
    for (const n of Object.keys(PLAN_TEMPLATES)) assert.match(r.out, new RegExp(`^  ${n} `, 'm'));
    assert.ok(!fs.existsSync(path.join(dir, '.release')));
  });

  const BAD_NAMES = [
    'nope',
    '',
    'NGINX-POSTGRES',
    'constructor',
    '__proto__',
    'toString',
    '../../etc/passwd',
    'nginx-postgres.yaml',
    'helm ',
    'fleet\n',
    '$(touch pwned)',
  ];
  for (const bad of BAD_NAMES) {
    it(`refuses the template name ${JSON.stringify(bad)}, lists the names, writes nothing`, async () => {
      const dir = tempDir();
      const r = await cli('init', '--workspace', dir, '--template', bad);
      assert.equal(r.code, 2);
      assert.match(r.err, /no template named ".*"; expected one of:\n {2}nginx-postgres/s);
      assert.deepEqual(fs.readdirSync(dir), []);
    });
  }

  it('writes .release/plan.yaml and keeps the runs and the lock out of git', async () => {
    const dir = tempDir();
    const r = await cli('init', '--workspace', dir, '--template', 'nginx-postgres');
    assert.equal(r.code, 0, r.err);
    assert.equal(fs.readFileSync(path.join(dir, '.release/plan.yaml'), 'utf8'), fs.readFileSync(path.join(TEMPLATE_DIR, 'nginx-postgres.yaml'), 'utf8'));
    assert.equal(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), '.release/lock\n.release/runs/\n');
    assert.match(r.out, /fill in the values between the FILL IN lines/);
  });

  // `init --template local` asked to fill in FILL IN lines the demo's plan does not have.
  for (const name of Object.keys(PLAN_TEMPLATES) as (keyof typeof PLAN_TEMPLATES)[]) {
    it(`init --template ${name}: the next step it names is one the written plan allows`, async () => {
      const dir = tempDir();
      const r = await cli('init', '--workspace', dir, '--template', name);
      assert.equal(r.code, 0, r.err);
      const text = fs.readFileSync(path.join(dir, '.release/plan.yaml'), 'utf8');
      const fill = /FILL IN/.test(text);
      assert.equal(/fill in the values between the FILL IN lines/.test(r.out), fill, r.out);
      if (fill) return;
      const ex = EXAMPLE_TEMPLATES[name];
      assert.ok(ex, `${name} has no FILL IN block: it is an example's plan, and init says what it needs`);
      assert.match(r.out, new RegExp(`This is the plan of ${ex.example} as it stands`));
      for (const f of ex.needs) {
        assert.ok(r.out.includes(f), `names ${f}`);
        assert.ok(text.includes(f.replace(/\*.*$|\/$/, '')), `${f} is one the plan uses`);
      }
      if (ex.how.startsWith('Copy them from'))
        for (const f of ex.needs.filter((x) => !x.includes('*') && !x.endsWith('/')))
          assert.ok(fs.existsSync(path.join(ROOT, ex.example, f)), `${ex.example}/${f} exists to copy`);
    });
  }

  it('refuses to replace an existing plan without --force, naming it; replaces it with --force', async () => {
    const dir = tempDir();
    const mine = write(dir, '.release/plan.yaml', '# my own plan\n');
    const r = await cli('init', '--workspace', dir, '--template', 'systemd');
    assert.equal(r.code, 1);
    assert.match(r.err, /plan\.yaml exists; nothing was written\. Pass --force/);
    assert.equal(fs.readFileSync(mine, 'utf8'), '# my own plan\n');
    const forced = await cli('init', '--workspace', dir, '--template', 'systemd', '--force');
    assert.equal(forced.code, 0, forced.err);
    assert.match(fs.readFileSync(mine, 'utf8'), /systemd service/);
  });

  it('adds to an existing .gitignore without a final newline, once', async () => {
    const dir = tempDir();
    write(dir, '.gitignore', 'node_modules\n/.release/lock');
    assert.equal((await cli('init', '--workspace', dir, '--template', 'helm')).code, 0);
    assert.equal((await cli('init', '--workspace', dir, '--template', 'helm', '--force')).code, 0);
    assert.equal(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), 'node_modules\n/.release/lock\n.release/runs/\n');
  });

  it('never writes through a symbolic link: one pointing nowhere is refused without --force, and --force replaces the link', async () => {
    const dir = tempDir();
    const outside = path.join(tempDir(), 'victim.txt');
    fs.mkdirSync(path.join(dir, '.release'));
    fs.symlinkSync(outside, path.join(dir, '.release/plan.yaml'));
    const r = await cli('init', '--workspace', dir, '--template', 'local');
    assert.equal(r.code, 1);
    assert.match(r.err, /plan\.yaml exists \(a symbolic link\); nothing was written/);
    assert.ok(!fs.existsSync(outside), 'nothing written where the link points');
    fs.writeFileSync(outside, 'ORIGINAL\n');
    const forced = await cli('init', '--workspace', dir, '--template', 'local', '--force');
    assert.equal(forced.code, 0, forced.err);
    assert.equal(fs.readFileSync(outside, 'utf8'), 'ORIGINAL\n', 'the file the link pointed to is untouched');
    const st = fs.lstatSync(path.join(dir, '.release/plan.yaml'));
    assert.ok(st.isFile() && !st.isSymbolicLink(), 'the plan is a regular file now');
    assert.equal(st.mode & 0o200, 0o200, 'and its owner can edit it');
  });

  it('does not write through a .gitignore that is a link or a folder', async () => {
    const dir = tempDir();
    const outside = path.join(tempDir(), 'gitignore');
    fs.writeFileSync(outside, 'theirs\n');
    fs.symlinkSync(outside, path.join(dir, '.gitignore'));
    assert.equal((await cli('init', '--workspace', dir, '--template', 'helm')).code, 0);
    assert.equal(fs.readFileSync(outside, 'utf8'), 'theirs\n');
    const other = tempDir();
    fs.mkdirSync(path.join(other, '.gitignore'));
    const r = await cli('init', '--workspace', other, '--template', 'helm');
    assert.equal(r.code, 0, r.err);
    assert.ok(fs.existsSync(path.join(other, '.release/plan.yaml')));
  });

  it('validates a version: auto template in a repository with no commit yet: a one-line answer, no stack', async () => {
    const dir = tempDir();
    gitRepo(dir);
    assert.equal((await cli('init', '--workspace', dir, '--template', 'helm')).code, 0);
    // The built command line, run in that folder, as a person does.
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'validate'], { cwd: dir, encoding: 'utf8' });
    assert.doesNotMatch(r.stderr, /malformed object name|\n\s+at /, r.stderr);
    assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}: ${r.stderr}`);
  });

  it('writes where --plan says', async () => {
    const dir = tempDir();
    const plan = path.join(dir, 'ops', '.release', 'plan.yaml');
    const r = await cli('init', '--plan', plan, '--template', 'kubernetes');
    assert.equal(r.code, 0, r.err);
    assert.ok(fs.existsSync(plan));
    assert.ok(fs.existsSync(path.join(dir, 'ops', '.gitignore')));
  });
});
