import * as assert from 'node:assert/strict';
import { parsePlan } from '../../src/core/plan/load';
import { lockKey, lockKeyProblem } from '../../src/core/model/schema-store';
import { smallPlan } from '../support/fixtures';

const withStore = (store: string) => smallPlan({ extra: `store:\n${store}` });

function problemsOf(text: string): { path: string; line: number; message: string }[] {
  const r = parsePlan(text, 'release.yaml');
  return r.ok ? [] : r.problems.map((p) => ({ path: p.path, line: p.line, message: p.message }));
}

describe("the plan's store key", () => {
  it('is optional: a plan without it keeps the local journal only', () => {
    const r = parsePlan(smallPlan(), 'release.yaml');
    assert.ok(r.ok);
    assert.equal(r.ok && r.plan.store, undefined);
  });

  it('takes a git remote with a lease, 30 s by default', () => {
    const r = parsePlan(withStore('  git: { remote: "ssh://git@git.example.com/team/releases.git" }'), 'release.yaml');
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    assert.deepEqual(r.ok && r.plan.store, { git: { remote: 'ssh://git@git.example.com/team/releases.git', lease: 30_000 } });
    const named = parsePlan(withStore('  git: { remote: origin, lease: 2m }'), 'release.yaml');
    assert.deepEqual(named.ok && named.plan.store, { git: { remote: 'origin', lease: 120_000 } });
  });

  it('takes a postgres URL only as an ${env:…} reference, at its line', () => {
    const ok = parsePlan(withStore('  postgres: { url: "${env:RELEASE_DB_URL}", lease: 10s }'), 'release.yaml');
    assert.deepEqual(ok.ok && ok.plan.store, { postgres: { url: '${env:RELEASE_DB_URL}', lease: 10_000 } });
    const p = problemsOf(withStore('  postgres: { url: "postgres://app:hunter2@db/releases" }'));
    assert.ok(
      p.some((x) => x.path === 'store.postgres.url' && /expected \$\{env:NAME\}: a database URL can hold a password/.test(x.message) && x.line > 1),
      JSON.stringify(p),
    );
  });

  const REFUSED: [string, string, RegExp][] = [
    ['a lease under 5 s', '  git: { remote: origin, lease: 4s }', /at least 5s/],
    ['a lease of 0', '  git: { remote: origin, lease: 0 }', /above 0/],
    ['a lease over 10 minutes', '  git: { remote: origin, lease: 11m }', /at most 10m/],
    ['a negative lease', '  git: { remote: origin, lease: -30 }', /./],
    ['a lease that is no duration', '  git: { remote: origin, lease: soon }', /expected a duration/],
    ['both backends', '  git: { remote: origin }\n  postgres: { url: "${env:U}" }', /./],
    ['neither backend', '  {}', /./],
    ['an empty remote', '  git: { remote: "" }', /expected a git remote/],
    ['a remote that reads as an option', '  git: { remote: "--upload-pack=touch /tmp/x" }', /expected a git remote/],
    ['a remote with a line break', '  git: { remote: "origin\\nx" }', /expected a git remote/],
    ['an unknown key', '  git: { remote: origin, branch: main }', /branch/],
  ];
  for (const [what, store, says] of REFUSED)
    it(`refuses ${what}, naming store at its line`, () => {
      const p = problemsOf(withStore(store));
      assert.ok(p.length > 0, 'refused');
      assert.ok(
        p.some((x) => x.path.startsWith('store') && says.test(x.message) && x.line >= smallPlan().split('\n').length - 1),
        JSON.stringify(p),
      );
    });
});

describe('lock keys', () => {
  it('one key per service and environment, names matched as the journals match them', () => {
    assert.equal(lockKey('Orders', 'Production'), 'orders@production');
    assert.equal(lockKey('ORDERS', 'production'), lockKey('orders', 'PRODUCTION'));
    assert.equal(lockKey('ｏｒｄｅｒｓ', 'production'), lockKey('orders', 'production'));
    assert.notEqual(lockKey('orders', 'staging'), lockKey('orders', 'production'));
    assert.notEqual(lockKey('orders api', 'production'), lockKey('orders-api', 'production'));
  });

  const NAMES: [string, string][] = [
    ['', ''],
    ['..', '..'],
    ['../../etc/passwd', 'prod'],
    ['a/b', 'c/d'],
    ['orders api', 'prod eu'],
    ['café', 'prod'],
    ['-rf', '-x'],
    ['x.lock', 'y.lock'],
    ['@{upstream}', 'HEAD'],
    ['a~b^c:d?e*f[g\\h', 'p'],
    ['x'.repeat(10_000), 'y'.repeat(10_000)],
    ['emoji 🚀', 'prod'],
    ['tab\there', 'nul\u0000'],
  ];
  for (const [name, env] of NAMES)
    it(`makes a valid ref part from the hostile name ${JSON.stringify(name.slice(0, 24))} @ ${JSON.stringify(env.slice(0, 24))}`, () => {
      const key = lockKey(name, env);
      assert.equal(lockKeyProblem(key), undefined, key);
      assert.ok(!key.includes('..') && !key.includes('/') && !/[~^:?*[\\\s]/.test(key) && !key.endsWith('.lock'), key);
      assert.ok(key.length <= 200, String(key.length));
      assert.equal(lockKey(name, env), key, 'stable');
    });

  it('keeps two long names that differ only at the end apart', () => {
    assert.notEqual(lockKey(`${'x'.repeat(500)}a`, 'p'), lockKey(`${'x'.repeat(500)}b`, 'p'));
  });

  it('refuses texts that are no lock key', () => {
    for (const bad of ['', 'orders', 'a@b@c', '../x@y', 'a/b@c', 'a b@c', 'A@b', '-a@b', 'a~b@c', `${'x'.repeat(200)}@y`, 'a@b\n'])
      assert.match(lockKeyProblem(bad) ?? '', /is not a lock key/, JSON.stringify(bad));
  });
});
