import * as assert from 'node:assert/strict';
import { formatProblem, parsePlan } from '../../src/core/plan/load';
import { lookAlikes, nameKey, sameName, sameVersion, versionKey } from '../../src/core/model/names';
import { liveFrom } from '../../src/core/engine/queries/liveState';
import type { ReleaseState } from '../../src/core/model/releaseState';
import { smallPlan } from '../support/fixtures';

const withName = (name: string) => smallPlan().replace(/^ {2}name: tiny$/m, `  name: ${JSON.stringify(name)}`);
const lineOfName = (text: string) => text.split('\n').findIndex((l) => l.startsWith('  name: ')) + 1;

describe('release names and versions: one key, as a person reads them', () => {
  // Names that read as "svc" (or another plain name) but are written with other characters.
  const lookAlikeNames: [string, string][] = [
    ['\u0455vc', 'Cyrillic small dze for s'],
    ['\u0405VC', 'Cyrillic capital dze for S'],
    ['sv\u0441', 'Cyrillic es for c'],
    ['\u0455\u2174\u0441', 'every letter replaced (Cyrillic, Roman numeral five)'],
    ['\u{1d42c}\u{1d42f}\u{1d41c}', 'mathematical bold letters'],
    ['p\u0430yments api', 'Cyrillic a inside a two-word name'],
    ['\u0391\u03a1\u0399', 'Greek capitals for API'],
    ['\u13aapi', 'Cherokee A'],
    ['svc-\u0430', 'a look-alike after a plain prefix'],
    ['\u0455vc'.repeat(200), 'a long name of look-alikes'],
  ];
  for (const [name, why] of lookAlikeNames) {
    it(`a release name with look-alike characters is refused at its line: ${why}`, () => {
      const text = withName(name);
      const r = parsePlan(Buffer.from(text, 'utf8'), 'plan.yaml');
      assert.equal(r.ok, false, `${why}: expected a refusal`);
      if (r.ok) return;
      const p = r.problems.find((x) => /look-alike characters/.test(x.message));
      assert.ok(p, r.problems.map(formatProblem).join('\n'));
      assert.equal(p.line, lineOfName(text));
      assert.match(p.message, /U\+[0-9A-F]{4,5}/);
      assert.match(formatProblem(p), /^plan\.yaml:\d+:\d+: /);
    });
  }

  const plainNames = ['svc', 'Payments API', 'svc-2', 'web_front.eu', '\u65e5\u672c\u30b5\u30fc\u30d3\u30b9', 'caf\u00e9', 'a'];
  for (const name of plainNames)
    it(`a plain name is accepted as written: ${name}`, () => {
      const r = parsePlan(Buffer.from(withName(name), 'utf8'), 'plan.yaml');
      assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
      assert.equal(r.plan.release.name, name);
      assert.deepEqual(lookAlikes(name), []);
    });

  it('one key matches a name however it is written: case, full width, compatibility forms, look-alikes', () => {
    for (const other of ['SVC', 'Svc', '\uff53\uff56\uff43', '\u0455vc', 'sv\u0441', '\u{1d42c}\u{1d42f}\u{1d41c}', ' svc '])
      assert.ok(sameName('svc', other), `${JSON.stringify(other)} is svc`);
    for (const other of ['svc2', 'sv', 'svcs', 'api', '']) assert.ok(!sameName('svc', other), `${JSON.stringify(other)} is not svc`);
    assert.equal(nameKey('Payments API'), 'payments api');
  });

  it('a version is matched by semver precedence: build metadata and a leading v aside, pre-releases apart', () => {
    assert.ok(sameVersion('1.0.0', '1.0.0+build.2'));
    assert.ok(sameVersion('1.0.0+a', '1.0.0+b'));
    assert.ok(sameVersion('v1.0.0', '1.0.0'));
    assert.ok(!sameVersion('1.0.0', '1.0.0-rc.1'));
    assert.ok(!sameVersion('1.0.0-rc.1', '1.0.0-rc.2'));
    assert.ok(!sameVersion('1.0.0', '1.0.1'));
    assert.equal(versionKey('1.0.0-rc.1+sha.5'), '1.0.0-rc.1');
    assert.equal(versionKey('not a version'), 'not a version');
  });

  it('what is live: a journal written under a look-alike name is read as the same service', () => {
    const run = (runId: string, name: string, version: string): ReleaseState =>
      ({
        runId,
        name,
        environment: 'production',
        version,
        plan: '.release/plan.yaml',
        status: 'released',
        phases: {},
        steps: {},
        reachedDeploy: true,
      }) as unknown as ReleaseState;
    const live = liveFrom([run('r2', '\u0455vc', '1.0.0+build.2'), run('r1', 'svc', '1.0.0')], 'svc', 'production');
    assert.deepEqual(
      live.out.map((s) => s.runId),
      ['r2', 'r1'],
    );
  });
});
