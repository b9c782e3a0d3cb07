import * as assert from 'node:assert/strict';
import { parsePlan } from '../../src/core/plan/load';
import { environmentToCheck, hasGates, planForEnvironment } from '../../src/core/plan/environments';
import type { Environment } from '../../src/core/plan/environments';
import { freezeVerdict, judgeApprovals } from '../../src/core/engine/gates/environmentGates';
import type { ApprovalRead } from '../../src/core/git/approvals';
import { smallPlan } from '../support/fixtures';
import { planHash } from '../../src/core/engine/gates/planIdentity';

const ENVS = `variables: { url: "http://default" }
environments:
  staging:
    variables: { url: "http://staging" }
    monitoring: { window: 2s }
  production:
    production: true
    requires: { released: staging, maxAge: 36h }
    approvals: { count: 2, from: [alice@example.com, bob@example.com], signed: true }
    freeze:
      - { from: "2026-12-24T00:00:00+01:00", to: "2026-12-27T00:00:00+01:00", reason: "holidays" }
`;
const planText = (envs = ENVS) => smallPlan({ extra: envs });

function load(text: string) {
  const r = parsePlan(text, 'plan.yaml');
  if (!r.ok) assert.fail(r.problems.map((p) => `${p.line}: ${p.message}`).join('\n'));
  return r.plan;
}
/** The plan's one problem, with the number of the line that holds `marker`. */
function problem(text: string, marker: string) {
  const r = parsePlan(text, 'plan.yaml');
  assert.equal(r.ok, false, 'expected the plan to be refused');
  const line = text.split('\n').findIndex((l) => l.includes(marker)) + 1;
  return { problems: r.ok ? [] : r.problems, line };
}

describe('environments in one plan', () => {
  it('resolves an environment: its name, variables, production flag and monitoring window over the shared ones', () => {
    const plan = load(planText());
    const s = planForEnvironment(plan, 'Staging');
    assert.ok(s.ok);
    assert.equal(s.plan.release.environment, 'staging');
    assert.equal(s.plan.variables.url, 'http://staging');
    assert.equal(s.plan.monitoring.window, 2000);
    const p = planForEnvironment(plan, 'production');
    assert.ok(p.ok);
    assert.equal(p.plan.variables.url, 'http://default');
    assert.equal(p.plan.release.production, true);
    assert.equal(p.plan.environments?.production.requires?.maxAge, 36 * 3_600_000);
    assert.equal(plan.release.environment, 'production', 'the loaded plan is left as written');
  });

  it('refuses a run without an environment, listing them, and an unknown one; a plan without environments keeps release.environment', () => {
    const plan = load(planText());
    assert.deepEqual(planForEnvironment(plan, undefined), {
      ok: false,
      message: 'the plan has several environments; name one with --env: staging, production',
    });
    assert.match((planForEnvironment(plan, 'qa') as { message: string }).message, /no environment "qa"; expected one of: staging, production/);
    const single = load(smallPlan());
    assert.equal(planForEnvironment(single, undefined).ok, true);
    assert.equal(planForEnvironment(single, 'production').ok, true);
    assert.match((planForEnvironment(single, 'staging') as { message: string }).message, /no environments: section; it releases to production only/);
  });

  const cases: [string, string, string, RegExp][] = [
    ['requires an environment the plan lacks', 'released: staging', 'released: stagnig', /no environment is named stagnig; expected one of: staging/],
    ['requires itself', 'released: staging', 'released: PRODUCTION', /cannot require a release to itself/],
    ['an undeclared variable', 'variables: { url: "http://staging" }', 'variables: { host: "staging" }', /variable host is not declared under variables/],
    ['an inverted freeze window', '"2026-12-27T00:00:00+01:00"', '"2026-12-23T00:00:00+01:00"', /a freeze must end after it starts/],
    ['a freeze time without its zone', '"2026-12-24T00:00:00+01:00"', '"2026-12-24T00:00:00"', /expected an ISO date and time with its time zone/],
    ['a freeze date that does not exist', '"2026-12-24T00:00:00+01:00"', '"2026-02-30T00:00:00+01:00"', /expected an ISO date and time with its time zone/],
    ['a maxAge in weeks', 'maxAge: 36h', 'maxAge: 2w', /expected an age such as 12h or 7d/],
    ['no approvals needed', 'count: 2', 'count: 0', /./],
    ['an unknown key in an environment', 'production: true', 'prodution: true', /unknown key "prodution"; did you mean "production"/],
  ];
  // Names an object already has: as a plain object's key, __proto__ sets the prototype and the environment vanished unseen.
  const reserved = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'Prototype', 'isPrototypeOf', 'propertyIsEnumerable'];
  for (const name of [...reserved, 'toLocaleString', '__defineGetter__', '__lookupSetter__', 'CONSTRUCTOR'])
    it(`refuses an environment named ${name} at its line`, () => {
      const text = planText().replace('  production:\n    production: true', `  ${name}:\n    production: true`);
      const { problems, line } = problem(text, `  ${name}:`);
      assert.equal(problems.length, 1, problems.map((p) => p.message).join('\n'));
      // A name with a leading _ is already outside the names allowed; __proto__ never reaches that check (it vanishes).
      assert.match(problems[0].message, name === '__proto__' || !name.startsWith('_') ? /reserved by JavaScript objects/ : /expected an environment name/);
      assert.ok(problems[0].message.includes(`"${name}"`), problems[0].message);
      assert.equal(problems[0].line, line);
    });

  for (const [title, from, to, message] of cases)
    it(`reports ${title} at its line`, () => {
      const text = planText().replace(from, to);
      assert.notEqual(text, planText(), `the edit ${from} → ${to} changed nothing`);
      const { problems, line } = problem(text, to);
      assert.equal(problems.length, 1, problems.map((p) => p.message).join('\n'));
      assert.match(problems[0].message, message);
      assert.equal(problems[0].line, line, `${problems[0].message} at line ${problems[0].line}, expected ${line}`);
    });
});

describe('plan hash (approvals, resumes): line endings', () => {
  const text = planText();
  it('is the same for LF, CRLF and lone-CR line endings: an autocrlf checkout does not void an approval', () => {
    assert.equal(planHash(text.replace(/\n/g, '\r\n')), planHash(text));
    assert.equal(planHash(text.replace(/\n/g, '\r')), planHash(text));
  });
  it('is the same for mixed line endings, and CR CR LF reads as the two line breaks YAML sees', () => {
    const lines = text.split('\n');
    const mixed = lines.map((l, i) => l + (i === lines.length - 1 ? '' : i % 2 ? '\r\n' : '\n')).join('');
    assert.equal(planHash(mixed), planHash(text));
    assert.equal(planHash('a\r\r\nb'), planHash('a\n\nb'));
  });
  it('still changes with any other byte: a space, a tab, a changed value, a blank line, a Unicode line separator, a BOM', () => {
    const others = [
      text + ' ',
      text.replace('count: 2', 'count: 1'),
      text.replace('  staging:', '\tstaging:'),
      text + '\n',
      text.replace('\n', '\u2028'),
      text.replace('\n', '\u0085'),
      '\ufeff' + text,
      text.replace('alice@example.com', 'аlice@example.com'),
    ];
    for (const other of others) assert.notEqual(planHash(other), planHash(text));
  });
});

const env = (freeze: Environment['freeze']): Environment => ({ variables: {}, freeze });
const at = (iso: string) => Date.parse(iso);

describe('freeze windows (hostile inputs)', () => {
  const holidays = { from: '2026-12-24T00:00:00+01:00', to: '2026-12-27T00:00:00+01:00', reason: 'holidays' };
  const corpus: [string, Environment['freeze'], string, string | undefined, 'open' | 'blocked' | undefined][] = [
    ['inside, said in UTC', [holidays], '2026-12-23T23:30:00Z', undefined, 'blocked'],
    ['just before, in UTC (23:00Z is the start in +01:00)', [holidays], '2026-12-23T22:59:59Z', undefined, 'open'],
    ['at the end instant (exclusive)', [holidays], '2026-12-26T23:00:00Z', undefined, 'open'],
    ['one ms before the end', [holidays], '2026-12-26T22:59:59.999Z', undefined, 'blocked'],
    [
      'a window written in -08:00 covering now',
      [{ from: '2026-06-01T00:00:00-08:00', to: '2026-06-01T02:00:00-08:00', reason: 'west' }],
      '2026-06-01T09:00:00Z',
      undefined,
      'blocked',
    ],
    [
      'overlapping windows: the first that holds decides, the second still freezes past the first',
      [holidays, { from: '2026-12-26T00:00:00Z', to: '2026-12-31T00:00:00Z', reason: 'year end' }],
      '2026-12-28T00:00:00Z',
      undefined,
      'blocked',
    ],
    ['an empty override', [holidays], '2026-12-25T00:00:00Z', '', 'blocked'],
    ['a blank override (spaces, tab, newline)', [holidays], '2026-12-25T00:00:00Z', ' \t\n ', 'blocked'],
    [
      'an override of invisible characters only (zero-width space, joiners, word joiner, BOM)',
      [holidays],
      '2026-12-25T00:00:00Z',
      '\u200b\u200c\u200d\u2060\ufeff \u180e',
      'blocked',
    ],
    ['an override with a reason', [holidays], '2026-12-25T00:00:00Z', 'security fix', 'open'],
    ['no windows at all: no gate', [], '2026-12-25T00:00:00Z', undefined, undefined],
  ];
  for (const [title, windows, now, override, want] of corpus)
    it(title, () => {
      const v = freezeVerdict(env(windows), at(now), override, 'Ops');
      assert.equal(v?.state, want, v?.message);
      if (want === 'blocked') assert.match(v!.message, /frozen from .* to .*: (holidays|west|year end)/);
      if (want === 'open' && override) assert.match(v!.message, /overridden by Ops: security fix/);
    });
});

describe('who may approve (hostile inputs)', () => {
  const rule = { count: 1, from: [] as string[], signed: true };
  const operator = { name: 'Olga Operator', email: 'olga@example.com' };
  const read = (name: string, email: string, o: Partial<ApprovalRead> = {}): ApprovalRead => ({
    tag: `release-pilot/approval/production/1.2.3/${email}`,
    approver: { name, email },
    signed: true,
    signedBy: email,
    ...o,
  });
  const corpus: [string, ApprovalRead[], Partial<typeof rule>, number, RegExp?][] = [
    ['a valid one by someone else', [read('Alice', 'alice@example.com')], {}, 1],
    ["the operator's email in capitals", [read('O', 'OLGA@Example.COM')], {}, 0, /the person starting the release/],
    ["the operator's email with blanks around", [read('O', '  olga@example.com ')], {}, 0, /the person starting the release/],
    ["the operator's name under another email", [read('olga operator', 'o2@example.com')], {}, 0, /has the name of the person starting/],
    ['unsigned where signatures are required', [read('Alice', 'alice@example.com', { signed: false, signedBy: undefined })], {}, 0, /unsigned/],
    [
      'signed by another principal than the tagger',
      [read('Alice', 'alice@example.com', { signedBy: 'olga@example.com' })],
      {},
      0,
      /signed by olga@example\.com, not by/,
    ],
    ['the same person twice counts once', [read('Alice', 'alice@example.com'), read('Alice', 'ALICE@example.com')], { count: 2 }, 1],
    ['someone not among those who may approve', [read('Eve', 'eve@example.com')], { from: ['alice@example.com'] }, 0, /not among those who may approve/],
    ['a listed approver, listed with other case and blanks', [read('Alice', 'alice@example.com')], { from: [' Alice@Example.com '] }, 1],
    // A name is matched only where signatures are not required: anyone may set user.name.
    [
      'a listed approver, by name, unsigned approvals',
      [read('Bob', 'bob@example.com', { signed: false, signedBy: undefined })],
      { from: ['bob'], signed: false },
      1,
    ],
    [
      'a name in from where signatures are required: the signature proves mallory@, not "Alice Smith"',
      [read('Alice Smith', 'mallory@example.com')],
      { from: ['Alice Smith'] },
      0,
      /mallory@example\.com \(the signer\) is not among those who may approve \(Alice Smith\); with signed approvals, from lists emails/,
    ],
    [
      "from lists the signer's email: matched against whom the signature proves, not the tagger's name",
      [read('Bob', 'bob@example.com')],
      { from: ['BOB@example.com'] },
      1,
    ],
    [
      'a tag the reader found invalid (homoglyph, edited, other env…)',
      [read('A', 'а@example.com', { invalid: 'outside plain ASCII' })],
      {},
      0,
      /outside plain ASCII/,
    ],
  ];
  for (const [title, reads, over, counted, why] of corpus)
    it(title, () => {
      const r = judgeApprovals(reads, { ...rule, ...over }, operator);
      assert.equal(r.counted.length, counted, r.refused.join('\n'));
      if (why) assert.match(r.refused.join('\n'), why);
    });
});

describe('which environment the views check between runs', () => {
  const plan = load(planText());
  const noGates = load(planText('environments:\n  staging: {}\n  production: {}\n'));

  it('the one just approved or checked, whatever the last run was', () => {
    assert.deepEqual(environmentToCheck(plan, { environment: 'staging', version: '1.2.3' }, { environment: 'production', version: '1.3.0' }), {
      environment: 'production',
      version: '1.3.0',
    });
  });
  it("the last run's environment when it declares gates", () => {
    assert.deepEqual(environmentToCheck(plan, { environment: 'production', version: '1.2.3' }), { environment: 'production', version: '1.2.3' });
  });
  it('after a staging run, the environment that requires staging (what the person waits for), spelled as the plan spells it', () => {
    assert.deepEqual(environmentToCheck(plan, { environment: 'STAGING', version: '1.2.3' }), { environment: 'production', version: '1.2.3' });
  });
  it('none: no run yet, or no environment with gates', () => {
    assert.equal(environmentToCheck(plan, undefined), undefined);
    assert.equal(environmentToCheck(noGates, { environment: 'staging', version: '1.2.3' }), undefined);
    assert.equal(environmentToCheck(noGates, { environment: 'production', version: '1.2.3' }), undefined);
  });
  it('hasGates: a freeze window, a promotion or approvals each count; none, or no environment, do not', () => {
    const envs = plan.environments!;
    assert.equal(hasGates(envs.production), true);
    assert.equal(hasGates(envs.staging), false);
    assert.equal(hasGates(undefined), false);
  });
});
