import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { approvalVerdict, promotionVerdict } from '../../src/core/engine/gates/environmentGates';
import { recordApproval } from '../../src/core/git/approvals';
import { planHash } from '../../src/core/engine/gates/planIdentity';
import { parsePlan } from '../../src/core/plan/load';
import { gitRepo, tempDir, write } from '../support/helpers';
import { smallPlan } from '../support/fixtures';
import { approvalText, gpgApprovalTag, gpgIn, newGpgKey } from '../support/approvals';

/**
 * The hostile corpus of the approval and promotion gates: each entry is built in a real git repository
 * (real SSH signatures) or as a real journal, and must not open the gate. A valid control opens it.
 */
describe('approval gate: hostile corpus (real git, real SSH signatures)', function () {
  this.timeout(60_000);
  const dir = tempDir('rp-approvals-');
  const git = gitRepo(dir);
  const keyOf = (who: string) => {
    const f = path.join(tempDir('rp-key-'), 'id');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', who, '-f', f]);
    return f;
  };
  const alice = { name: 'Alice', email: 'alice@example.com', key: '' };
  const mallory = { name: 'Mallory', email: 'mallory@example.com', key: '' };
  const operator = { name: 'Olga', email: 'olga@example.com', key: '' };
  const plan = 'release:\n  name: tiny\n';
  const hash = planHash(plan);
  let head = '';
  const subject = () => ({ environment: 'production', version: '1.2.3', commit: head, planHash: hash });
  const rule = { count: 1, from: [], signed: true };
  const as = (p: { name: string; email: string; key: string }) => {
    git('config', 'user.name', p.name);
    git('config', 'user.email', p.email);
    git('config', 'user.signingkey', p.key);
  };
  const verdict = () => approvalVerdict(dir, rule, subject(), operator);
  const clear = () =>
    git('tag', '-l', 'release-pilot/*')
      .split('\n')
      .filter(Boolean)
      .forEach((t) => git('tag', '-d', t));
  /** An approval tag written by hand: its message fields over the valid ones, signed or not. */
  const handTag = (name: string, over: Record<string, string> = {}, o: { sign?: boolean; at?: string } = {}) => {
    const f = {
      environment: 'production',
      version: '1.2.3',
      commit: head,
      plan: hash,
      approver: `${git('config', 'user.name')} <${git('config', 'user.email')}>`,
      at: '2026-11-28T00:00:00.000Z',
      ...over,
    };
    const msg = ['release-pilot approval', ...Object.entries(f).map(([k, v]) => `${k}: ${v}`)].join('\n');
    git('tag', o.sign === false ? '-a' : '-s', '-m', msg, `release-pilot/approval/production/1.2.3/${name}`, o.at ?? head);
  };

  before(() => {
    write(dir, 'a.txt', 'a\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: a');
    head = git('rev-parse', 'HEAD');
    alice.key = keyOf(alice.email);
    mallory.key = keyOf(mallory.email);
    operator.key = keyOf(operator.email);
    // Alice and the operator are trusted signers: a self-approval fails on who signed it, not on the key.
    const trusted = [alice, operator].map((p) => `${p.email} ${fs.readFileSync(`${p.key}.pub`, 'utf8').trim()}`).join('\n');
    const signers = write(tempDir('rp-signers-'), 'allowed', `${trusted}\n`);
    git('config', 'gpg.format', 'ssh');
    git('config', 'gpg.ssh.allowedSignersFile', signers);
  });
  beforeEach(() => {
    clear();
    as(alice);
  });

  it('counts an approval given from an LF checkout for a CRLF checkout of the same plan, and the other way round', async () => {
    const lf = 'release:\n  name: tiny\n  version: 1.2.3\n';
    const crlf = lf.replace(/\n/g, '\r\n');
    for (const [approved, released] of [
      [lf, crlf],
      [crlf, lf],
    ]) {
      clear();
      await recordApproval(dir, { environment: 'production', version: '1.2.3', planHash: planHash(approved), sign: true });
      const v = await approvalVerdict(dir, rule, { environment: 'production', version: '1.2.3', commit: head, planHash: planHash(released) }, operator);
      assert.equal(v.state, 'open', v.message);
    }
  });

  it('control: a valid signed approval by Alice opens the gate', async () => {
    await recordApproval(dir, { environment: 'production', version: '1.2.3', planHash: hash, sign: true });
    const v = await verdict();
    assert.equal(v.state, 'open', v.message);
    assert.match(v.message, /approved by Alice <alice@example\.com> \(signed\)/);
  });

  const corpus: [string, () => Promise<void> | void, RegExp][] = [
    [
      'a tag whose message was edited after signing (plan line kept, comment added)',
      async () => {
        const r = await recordApproval(dir, { environment: 'production', version: '1.2.3', planHash: hash, sign: true });
        const raw = git('cat-file', 'tag', `refs/tags/${r.tag}`).replace('\nat: ', '\ncomment: edited\nat: ');
        const obj = execFileSync('git', ['hash-object', '-t', 'tag', '-w', '--stdin'], { cwd: dir, input: raw + '\n', encoding: 'utf8' }).trim();
        git('update-ref', `refs/tags/${r.tag}`, obj);
      },
      /signature does not verify/,
    ],
    ['a lightweight tag', () => void git('tag', 'release-pilot/approval/production/1.2.3/light', head), /lightweight tag/],
    [
      "an approval for staging, its tag object copied under production's name",
      async () => {
        const r = await recordApproval(dir, { environment: 'staging', version: '1.2.3', planHash: hash, sign: true });
        git('update-ref', 'refs/tags/release-pilot/approval/production/1.2.3/copied', git('rev-parse', `refs/tags/${r.tag}`));
      },
      /a tag renamed or copied from elsewhere/,
    ],
    ['a signed tag for another environment under this name', () => handTag('env', { environment: 'staging' }), /approves environment "staging"/],
    ['a signed tag for another version under this name', () => handTag('ver', { version: '1.2.4' }), /approves version "1\.2\.4"/],
    ['signed by a key not in the allowed signers', () => (as({ ...alice, key: mallory.key }), handTag('mallory-key')), /signature does not verify/],
    [
      'unsigned where signatures are required',
      () => handTag('unsigned', {}, { sign: false }),
      /unsigned: unsigned, and this environment needs signed approvals/,
    ],
    ['the plan changed by one byte since the approval', () => handTag('plan', { plan: planHash(plan + ' ') }), /the plan changed since the approval/],
    [
      'an approval of the parent commit (HEAD moved on)',
      () => {
        git('commit', '-q', '--allow-empty', '-m', 'feat: b');
        const parent = head;
        head = git('rev-parse', 'HEAD');
        handTag('parent', { commit: parent }, { at: parent });
      },
      /approves commit [0-9a-f]{12}, not the release commit/,
    ],
    [
      'an amended commit with the same message: the approval is on the commit before',
      () => {
        handTag('amended');
        git('commit', '-q', '--amend', '--allow-empty', '--no-edit', '--date', '2026-03-01T00:00:00Z');
        head = git('rev-parse', 'HEAD');
      },
      /not the release commit/,
    ],
    ['a message that names another commit than the tag is on', () => handTag('msgcommit', { commit: '0'.repeat(40) }), /names another commit/],
    [
      'a message naming another approver than the tagger',
      () => handTag('who', { approver: 'Bob <bob@example.com>' }),
      /names another approver than its tagger/,
    ],
    [
      "an approver email with a Cyrillic homoglyph of the operator's",
      () => (as({ name: 'Olga', email: 'оlga@example.com', key: alice.key }), handTag('homoglyph')),
      /outside plain ASCII/,
    ],
    [
      "the operator's email in other case and with blanks (self-approval)",
      () => (as({ name: 'O. Operator', email: ' OLGA@example.com', key: operator.key }), handTag('self')),
      /self: the approver is the person starting the release/,
    ],
    [
      'a message that is not a release-pilot approval',
      () => void git('tag', '-s', '-m', 'looks fine to me', 'release-pilot/approval/production/1.2.3/plain', head),
      /not a release-pilot approval/,
    ],
  ];
  it('refuses a backdated approval: git checks an expired key at the date its tag claims', async () => {
    const msg = approvalText({ commit: head, plan: hash, approver: 'Alice <alice@example.com>', at: '2025-06-01T00:00:00.000Z' });
    execFileSync('git', ['tag', '-s', '-m', msg, 'release-pilot/approval/production/1.2.3/backdated', head], {
      cwd: dir,
      env: { ...process.env, GIT_COMMITTER_DATE: '2025-06-01T00:00:00Z' },
    });
    const v = await verdict();
    assert.equal(v.state, 'blocked', v.message);
    assert.match(v.message, /before the commit it approves .*: a backdated tag/);
  });

  it("refuses someone whose user.name is an allowed approver's email: an entry with @ names an email", async () => {
    as({ name: 'alice@example.com', email: 'mallory@example.com', key: mallory.key });
    handTag('name-is-email', {}, { sign: false });
    const v = await approvalVerdict(dir, { count: 1, from: ['alice@example.com'], signed: false }, subject(), operator);
    assert.equal(v.state, 'blocked', v.message);
    assert.match(v.message, /mallory@example\.com is not among those who may approve \(alice@example\.com\)/);
  });

  for (const [title, make, why] of corpus)
    it(`refuses ${title}`, async () => {
      await make();
      const v = await verdict();
      assert.equal(v.state, 'blocked', v.message);
      assert.match(v.message, why);
    });
});

describe('promotion gate: hostile corpus (real journals)', () => {
  const dir = tempDir('rp-promo-');
  const loaded = parsePlan(smallPlan(), 'plan.yaml');
  if (!loaded.ok) throw new Error('the small plan does not load');
  const plan = loaded.plan;
  const commit = 'a'.repeat(40);
  const now = Date.parse('2026-11-28T12:00:00Z');
  const req = { released: 'staging', maxAge: 7 * 86_400_000 };
  let n = 0;
  /** A staging run's journal, as the engine writes it: started, monitoring, finished. */
  const run = (o: {
    env?: string;
    name?: string;
    version?: string;
    commit?: string;
    outcome?: string;
    monitoring?: string;
    finishedAt?: string;
    rolledBack?: boolean;
    /** Whether the journal says the tree was clean at the start; 'absent': it says nothing (an older or hand-written journal). */
    clean?: boolean | 'absent';
    /** Metric verdicts journaled at the end of monitoring, `metric:verdict`. */
    verdicts?: string[];
  }) => {
    const id = `20261127-0000${String(++n).padStart(2, '0')}-1.2.3`;
    const at = o.finishedAt ?? '2026-11-27T12:00:00.000Z';
    const events: object[] = [
      {
        type: 'release.started',
        at: '2026-11-27T11:00:00.000Z',
        runId: id,
        plan: '.release/plan.yaml',
        name: o.name ?? 'tiny',
        version: o.version ?? '1.2.3',
        environment: o.env ?? 'staging',
        user: 'Test',
        host: 'h',
        pid: 1,
        planHash: 'x',
        commit: o.commit ?? commit,
        ...(o.clean === 'absent' ? {} : { clean: o.clean ?? true }),
      },
    ];
    if (o.monitoring !== 'none') {
      events.push({ type: 'phase.started', at, phase: 'monitoring' });
      for (const v of o.verdicts ?? []) {
        const [metric, verdict] = v.split(':');
        events.push({ type: 'monitoring.verdict', at, metric, verdict, explanation: `${verdict}: no measurement to judge` });
      }
      if (o.monitoring !== 'running') events.push({ type: 'phase.finished', at, phase: 'monitoring', outcome: o.monitoring ?? 'passed' });
    }
    if (o.outcome !== 'none') events.push({ type: 'release.finished', at, outcome: o.outcome ?? 'released', message: 'done' });
    // A rollback asked for after the release ended, as `release-pilot rollback RUN` journals it.
    if (o.rolledBack) {
      events.push({ type: 'rollback.started', at, trigger: 'user', reason: 'bad', by: 'Test', requestedAt: at, latencyMs: 1 });
      events.push({ type: 'rollback.finished', at, outcome: 'rolled-back', message: 'ok' });
    }
    write(dir, `.release/runs/${id}/journal.jsonl`, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  };
  const verdict = () => promotionVerdict(dir, plan, req, { version: '1.2.3', commit }, now);
  beforeEach(() => fs.rmSync(path.join(dir, '.release'), { recursive: true, force: true }));

  const corpus: [string, () => void][] = [
    ['no staging run at all', () => {}],
    ['a staging run of another commit with the same version', () => run({ commit: 'b'.repeat(40) })],
    ['a staging run that was rolled back', () => run({ outcome: 'rolled-back' })],
    ['a staging run that was released, then rolled back by hand', () => run({ rolledBack: true })],
    ['a staging run that was aborted (abandoned)', () => run({ outcome: 'aborted' })],
    ['a staging run still running (no end)', () => run({ outcome: 'none', monitoring: 'running' })],
    ['a staging run whose monitoring failed yet says released', () => run({ monitoring: 'failed' })],
    ['a staging run whose monitoring was skipped', () => run({ monitoring: 'skipped' })],
    ['a staging run older than maxAge', () => run({ finishedAt: '2026-11-20T11:59:59.000Z' })],
    ['a staging run that ends in the future (clock skew or an edited journal)', () => run({ finishedAt: '2026-11-29T00:00:00.000Z' })],
    ['a released run of another service', () => run({ name: 'other' })],
    ['a released run of another version', () => run({ version: '1.2.4' })],
    ['a released run to another environment (qa)', () => run({ env: 'qa' })],
    ['a released run to "stagíng", a look-alike of staging', () => run({ env: 'stagíng' })],
    ['a staging run started from a working tree with uncommitted changes', () => run({ clean: false })],
    ['a staging run whose journal does not say whether its tree was clean', () => run({ clean: 'absent' })],
    // The monitoring phase passes when nothing failed; a metric that judged nothing proves nothing.
    ['a staging run whose only metric was inconclusive (NaN only)', () => run({ verdicts: ['m:inconclusive'] })],
    ['a staging run with one metric passed and one inconclusive', () => run({ verdicts: ['a:pass', 'b:inconclusive'] })],
    ['a staging run whose metric verdict says fail while the phase says passed', () => run({ verdicts: ['m:fail'] })],
    ['a staging run whose metric verdict is spelled PASS (not a verdict the engine writes)', () => run({ verdicts: ['m:PASS'] })],
    ['a staging run whose metric verdict is empty', () => run({ verdicts: ['m:'] })],
  ];
  it('control: a released staging run of this commit, monitoring passed, 1 day old, opens the gate, naming it', () => {
    run({});
    const v = verdict();
    assert.equal(v.state, 'open', v.message);
    assert.match(v.message, /released to staging in run 20261127-000001-1\.2\.3/);
  });
  for (const [title, make] of corpus)
    it(`refuses ${title}`, () => {
      make();
      const v = verdict();
      assert.equal(v.state, 'blocked', v.message);
    });
  it('control: a staging run whose metrics all passed opens the gate', () => {
    run({ verdicts: ['a:pass', 'b:pass'] });
    assert.equal(verdict().state, 'open', verdict().message);
  });
  it('names the inconclusive metric and says the monitoring did not pass', () => {
    run({ verdicts: ['m:inconclusive'] });
    assert.match(verdict().message, /its monitoring was inconclusive, not passed \(m: no measurement to judge\)/);
  });
  it('a tiny maxAge is said in seconds or ms, not "0 h"', () => {
    run({});
    const v = promotionVerdict(dir, plan, { released: 'staging', maxAge: 30_000 }, { version: '1.2.3', commit }, now);
    assert.match(v.message, /ended 1 d ago, over the limit of 30 s/);
    const tiny = promotionVerdict(dir, plan, { released: 'staging', maxAge: 0.0000001 }, { version: '1.2.3', commit }, now);
    assert.match(tiny.message, /over the limit of 1e-7 ms|over the limit of 0\.0000001 ms/);
    assert.doesNotMatch(tiny.message, /0 h/);
    assert.match(promotionVerdict(dir, plan, { released: 'staging', maxAge: 20 * 60_000 }, { version: '1.2.3', commit }, now).message, /limit of 20 min/);
  });
});

/**
 * GPG-signed approvals, with real gpg keys in temporary keyrings: git's OpenPGP signing, checked by `git verify-tag`.
 * The verifier's keyring holds Alice's and Olga's keys (their own, so ultimately trusted) and a public key Mallory made
 * under Alice's name, imported but not trusted.
 */
describe('approval gate: GPG signatures (real gpg keys)', function () {
  this.timeout(120_000);
  const dir = tempDir('rp-gpg-repo-');
  const git = gitRepo(dir);
  const home = tempDir('rp-gpg-');
  const malloryHome = tempDir('rp-gpg-m-');
  const plan = 'release:\n  name: tiny\n';
  const hash = planHash(plan);
  const rule = { count: 1, from: [], signed: true };
  const operator = { name: 'Olga', email: 'olga@example.com' };
  let head = '';
  let savedHome: string | undefined;
  const keys = { alice: '', olga: '', mallory: '' };
  /** An approval tag of HEAD by `who`, signed with `key` from the keyring `gnupgHome`. */
  const signedTag = (name: string, who: { name: string; email: string }, key: string, gnupgHome = home) =>
    gpgApprovalTag(dir, { name, head, planHash: hash, who, key, gnupgHome });
  const verdict = () => approvalVerdict(dir, rule, { environment: 'production', version: '1.2.3', commit: head, planHash: hash }, operator);
  const clear = () =>
    git('tag', '-l', 'release-pilot/*')
      .split('\n')
      .filter(Boolean)
      .forEach((t) => git('tag', '-d', t));

  before(function () {
    try {
      execFileSync('gpg', ['--version'], { stdio: 'ignore' });
    } catch {
      // The suite's machines install gnupg (CONTRIBUTING); say so rather than pass in silence elsewhere.
      throw new Error('gpg is not installed: apt-get install -y gnupg');
    }
    write(dir, 'a.txt', 'a\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: a');
    head = git('rev-parse', 'HEAD');
    keys.alice = newGpgKey(home, 'Alice <alice@example.com>');
    keys.olga = newGpgKey(home, 'Olga <olga@example.com>');
    keys.mallory = newGpgKey(malloryHome, 'Alice <alice@example.com>');
    gpgIn(home, '--import', '--', write(malloryHome, 'mallory.asc', gpgIn(malloryHome, '--armor', '--export', keys.mallory)));
    git('config', 'gpg.format', 'openpgp');
    savedHome = process.env.GNUPGHOME;
    process.env.GNUPGHOME = home;
  });
  after(() => {
    if (savedHome === undefined) delete process.env.GNUPGHOME;
    else process.env.GNUPGHOME = savedHome;
    for (const h of [home, malloryHome]) execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: h }, stdio: 'ignore' });
  });
  beforeEach(clear);

  it("control: Alice's approval, signed with her trusted key by `release-pilot approve`'s code, opens the gate and names the key", async () => {
    git('config', 'user.name', 'Alice');
    git('config', 'user.email', 'alice@example.com');
    git('config', 'user.signingkey', keys.alice);
    const r = await recordApproval(dir, { environment: 'production', version: '1.2.3', planHash: hash, sign: true });
    assert.equal(execFileSync('git', ['verify-tag', r.tag], { cwd: dir, stdio: 'pipe' }).length >= 0, true, 'git verifies it');
    const v = await verdict();
    assert.equal(v.state, 'open', v.message);
    assert.match(v.message, /approved by Alice <alice@example\.com> \(signed\)/);
    assert.deepEqual(v.approvals, [{ tag: r.tag, approver: 'Alice <alice@example.com>', key: keys.alice }]);
  });

  const corpus: [string, () => void, RegExp][] = [
    [
      "a key Mallory made under Alice's name, imported but not trusted",
      () => signedTag('mallory', { name: 'Alice', email: 'alice@example.com' }, keys.mallory, malloryHome),
      /gpg does not trust \(trust undefined\)/,
    ],
    [
      'a key the verifier does not have at all',
      () => {
        const stranger = tempDir('rp-gpg-s-');
        try {
          signedTag('stranger', { name: 'Alice', email: 'alice@example.com' }, newGpgKey(stranger, 'Alice <alice@example.com>'), stranger);
        } finally {
          execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: stranger }, stdio: 'ignore' });
        }
      },
      /signature does not verify/,
    ],
    [
      "Olga's trusted key on a tag whose tagger is Alice",
      () => signedTag('olga-as-alice', { name: 'Alice', email: 'alice@example.com' }, keys.olga),
      /signed by olga@example\.com, not by the approver alice@example\.com/,
    ],
    [
      "the operator's own trusted key and identity (self-approval)",
      () => signedTag('self', operator, keys.olga),
      /the approver is the person starting the release/,
    ],
  ];
  for (const [title, make, why] of corpus)
    it(`refuses ${title}`, async () => {
      make();
      const v = await verdict();
      assert.equal(v.state, 'blocked', v.message);
      assert.match(v.message, why);
    });
});
