import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { approvalVerdict } from '../../src/core/engine/gates/environmentGates';
import { recordApproval } from '../../src/core/git/approvals';
import { planHash } from '../../src/core/engine/gates/planIdentity';
import { parsePlan } from '../../src/core/plan/load';
import { gitRepo, tempDir, write } from '../support/helpers';
import { smallPlan } from '../support/fixtures';
import { allowSigners, approvalText, gpgApprovalTag, gpgIn, newGpgKey, newSshKey, publicKey, signedApprovalTag } from '../support/approvals';

/**
 * Who a signed approval proves a signature proves a key, and only what binds that key to an
 * email — an allowed-signers principal, a gpg user ID the verifier certified — says whose approval it is.
 * Hostile corpora, each built with real keys (gpg, ssh-keygen) in temporary keyrings, must not open the gate.
 */
const plan = 'release:\n  name: tiny\n';
const hash = planHash(plan);
const operator = { name: 'Olivia', email: 'olivia@example.com' };
const approvalMessage = (head: string, approver: string) => approvalText({ commit: head, plan: hash, approver, at: new Date().toISOString() });

/**
 * The verifier (Olivia) holds her own key (ultimate) and certified (lsign) Alice's and Mallory's keys as they were
 * when she checked them. What Mallory adds to her key later is hers alone: gpg then trusts the key, not those user IDs.
 */
describe('approval gate: GPG user IDs, not keys, say who approved (real gpg)', function () {
  this.timeout(180_000);
  const dir = tempDir('rp-uid-repo-');
  const git = gitRepo(dir);
  const home = tempDir('rp-uid-v-');
  const aliceHome = tempDir('rp-uid-a-');
  const malloryHome = tempDir('rp-uid-m-');
  const homes = [home, aliceHome, malloryHome];
  let head = '';
  let savedHome: string | undefined;
  /** Copies `fpr` as `from` holds it now into the verifier's keyring; with `certify`, Olivia certifies these user IDs. */
  const give = (from: string, fpr: string, certify?: string[]) => {
    gpgIn(home, '--import', '--', write(from, `${fpr}.asc`, gpgIn(from, '--armor', '--export', fpr)));
    if (certify) gpgIn(home, '--quick-lsign-key', fpr, ...certify);
  };
  const signedTag = (name: string, who: { name: string; email: string }, key: string, gnupgHome: string) =>
    gpgApprovalTag(dir, { name, head, planHash: hash, who, key, gnupgHome });
  const rule = { count: 1, from: ['alice@example.com'], signed: true };
  const verdict = () => approvalVerdict(dir, rule, { environment: 'production', version: '1.2.3', commit: head, planHash: hash }, operator);
  const clear = () =>
    git('tag', '-l', 'release-pilot/*')
      .split('\n')
      .filter(Boolean)
      .forEach((t) => git('tag', '-d', t));
  const alice = { name: 'Alice', email: 'alice@example.com' };
  const keys = { alice: '' };

  before(() => {
    write(dir, 'a.txt', 'a\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: a');
    head = git('rev-parse', 'HEAD');
    git('config', 'gpg.format', 'openpgp');
    newGpgKey(home, 'Olivia <olivia@example.com>');
    keys.alice = newGpgKey(aliceHome, 'Alice <alice@example.com>');
    give(aliceHome, keys.alice, ['Alice <alice@example.com>']);
    savedHome = process.env.GNUPGHOME;
    process.env.GNUPGHOME = home;
  });
  after(() => {
    if (savedHome === undefined) delete process.env.GNUPGHOME;
    else process.env.GNUPGHOME = savedHome;
    for (const h of homes) execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: h }, stdio: 'ignore' });
  });
  beforeEach(clear);

  it("control: Alice's approval with her certified key opens the gate", async () => {
    signedTag('alice', alice, keys.alice, aliceHome);
    const v = await verdict();
    assert.equal(v.state, 'open', v.message);
    assert.deepEqual(v.approvals, [{ tag: 'release-pilot/approval/production/1.2.3/alice', approver: 'Alice <alice@example.com>', key: keys.alice }]);
  });

  it('control: a signing subkey of Alice certified key counts (the user ID is checked on its primary key)', async () => {
    gpgIn(aliceHome, '--quick-add-key', keys.alice, 'ed25519', 'sign', 'never');
    const sub = gpgIn(aliceHome, '--list-keys', '--with-colons', keys.alice)
      .split('\n')
      .filter((l) => l.startsWith('fpr:'))
      .map((l) => l.split(':')[9])
      .pop()!;
    give(aliceHome, keys.alice);
    signedTag('alice-sub', alice, `${sub}!`, aliceHome);
    const said = execFileSync('git', ['verify-tag', '--raw', 'release-pilot/approval/production/1.2.3/alice-sub'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: 'pipe',
    });
    assert.equal(said, '', 'verify-tag prints to stderr');
    const v = await verdict();
    assert.equal(v.state, 'open', v.message);
  });

  /** Mallory's key, certified by Olivia as "mallory"; `then` changes it in Mallory's keyring, and the verifier imports the result. */
  const mallory = (uid: string, then: (fpr: string) => void = () => {}) => {
    const fpr = newGpgKey(malloryHome, uid);
    give(malloryHome, fpr, [uid]);
    then(fpr);
    give(malloryHome, fpr);
    return fpr;
  };
  const addUid =
    (uid: string, primary = true) =>
    (fpr: string) => {
      gpgIn(malloryHome, '--quick-add-uid', fpr, uid);
      if (primary) gpgIn(malloryHome, '--quick-set-primary-uid', fpr, uid);
    };

  const corpus: [string, () => void, RegExp][] = [
    [
      'an uncertified user ID "Alice <alice@example.com>" Mallory added to her certified key, made primary',
      () => signedTag('f1', alice, mallory('Mallory <mallory@example.com>', addUid('Alice <alice@example.com>')), malloryHome),
      /whose user ID for alice@example\.com gpg does not hold valid \(unknown\): the key is trusted, not as alice@example\.com/,
    ],
    [
      'the same added user ID, not made primary (gpg names Mallory in GOODSIG)',
      () => signedTag('f1b', alice, mallory('Mallory <mallory2@example.com>', addUid('Alice <alice@example.com>', false)), malloryHome),
      /alice@example\.com gpg does not hold valid|signed by mallory2@example\.com, not by the approver/,
    ],
    [
      'an added user ID with the email in capitals, "Alice <ALICE@EXAMPLE.COM>"',
      () => signedTag('caps', alice, mallory('Mallory <mallory3@example.com>', addUid('Alice <ALICE@EXAMPLE.COM>')), malloryHome),
      /gpg does not hold valid/,
    ],
    [
      'two added user IDs for Alice, neither certified',
      () =>
        signedTag(
          'two',
          alice,
          mallory('Mallory <mallory4@example.com>', (f) => (addUid('Alice A <alice@example.com>')(f), addUid('Alice B <alice@example.com>')(f))),
          malloryHome,
        ),
      /gpg does not hold valid/,
    ],
    [
      'a certified user ID with a plus tag, "Alice <alice+rp@example.com>", tagger alice@example.com',
      () => signedTag('plus', alice, mallory('Alice <alice+rp@example.com>'), malloryHome),
      /signed by alice\+rp@example\.com, not by the approver alice@example\.com/,
    ],
    [
      'a certified look-alike user ID, "Alice <alice@example.com.evil.test>"',
      () => signedTag('lookalike', alice, mallory('Alice <alice@example.com.evil.test>'), malloryHome),
      /not by the approver alice@example\.com/,
    ],
    [
      'a certified user ID with <> in its name, "Alice <alice@example.com> <mallory5@example.com>"',
      () => signedTag('angle', alice, mallory('Alice <alice@example.com> <mallory5@example.com>'), malloryHome),
      /signature does not verify|not by the approver alice@example\.com|no user ID with the approver's email/,
    ],
    [
      'a user ID for Alice that Olivia certified, then Mallory revoked (validity r)',
      () =>
        signedTag(
          'revoked',
          alice,
          mallory('Mallory <mallory6@example.com>', (f) => {
            addUid('Alice <alice@example.com>', false)(f);
            give(malloryHome, f, ['Alice <alice@example.com>']);
            gpgIn(malloryHome, '--quick-revoke-uid', f, 'Alice <alice@example.com>');
          }),
          malloryHome,
        ),
      /signed by mallory6@example\.com, not by the approver|gpg does not hold valid \(revoked\)/,
    ],
    [
      'an added user ID with a Cyrillic look-alike email "Alice <аlice@example.com>" (tagger the look-alike)',
      () =>
        signedTag(
          'cyr',
          { name: 'Alice', email: 'аlice@example.com' },
          mallory('Mallory <mallory7@example.com>', addUid('Alice <аlice@example.com>')),
          malloryHome,
        ),
      /outside plain ASCII/,
    ],
  ];
  for (const [title, make, why] of corpus)
    it(`refuses ${title}`, async () => {
      make();
      const v = await verdict();
      assert.equal(v.state, 'blocked', v.message);
      assert.match(v.message, why);
    });

  for (const model of ['always', 'direct'])
    it(`refuses a user ID added to a certified key under trust-model ${model} too (the key's trust never stands for a user ID)`, async () => {
      const conf = path.join(home, 'gpg.conf');
      signedTag(`model-${model}`, alice, mallory(`Mallory <m-${model}@example.com>`, addUid('Alice <alice@example.com>')), malloryHome);
      fs.writeFileSync(conf, `trust-model ${model}\n`);
      try {
        const v = await verdict();
        assert.equal(v.state, 'blocked', v.message);
      } finally {
        fs.rmSync(conf);
      }
    });
});

describe('approval gate: with signed approvals, from names emails the signature proves (real ssh-keygen)', function () {
  this.timeout(120_000);
  const dir = tempDir('rp-f2-repo-');
  const git = gitRepo(dir);
  let head = '';
  const keys = { alice: '', mallory: '', ca: '' };
  const signers = (lines: string[]) => allowSigners(git, lines);
  const standard = () => [`alice@example.com ${publicKey(keys.alice)}`, `mallory@example.com ${publicKey(keys.mallory)}`];
  const tag = (name: string, who: { name: string; email: string }, key: string) =>
    signedApprovalTag(dir, { name, head, who, key, message: approvalMessage(head, `${who.name} <${who.email}>`) });
  const verdict = (from: string[]) =>
    approvalVerdict(dir, { count: 1, from, signed: true }, { environment: 'production', version: '1.2.3', commit: head, planHash: hash }, operator);

  before(() => {
    write(dir, 'a.txt', 'a\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: a');
    head = git('rev-parse', 'HEAD');
    keys.alice = newSshKey('alice');
    keys.mallory = newSshKey('mallory');
    keys.ca = newSshKey('ca');
    git('config', 'gpg.format', 'ssh');
  });
  beforeEach(() => {
    git('tag', '-l', 'release-pilot/*')
      .split('\n')
      .filter(Boolean)
      .forEach((t) => git('tag', '-d', t));
    signers(standard());
  });

  it('control: Alice, listed by email, signs with her allowed key: counted', async () => {
    tag('alice', { name: 'Alice Smith', email: 'alice@example.com' }, keys.alice);
    const v = await verdict(['alice@example.com']);
    assert.equal(v.state, 'open', v.message);
  });

  it('validate refuses a name in from with signed: true, at its line, saying to write the email', () => {
    const text = `${smallPlan()}\nenvironments:\n  production:\n    approvals:\n      count: 1\n      from: [alice@example.com, Alice Smith]\n      signed: true\n`;
    const loaded = parsePlan(text, 'plan.yaml');
    assert.equal(loaded.ok, false);
    const problems = (loaded as unknown as { problems: { message: string; line: number }[] }).problems;
    const p = problems.find((x) => /list approvers by email/.test(x.message));
    assert.ok(p, problems.map((x) => x.message).join('\n'));
    assert.match(p.message, /write "Alice Smith"'s git user\.email instead/);
    assert.equal(p.line, text.split('\n').findIndex((l) => l.includes('Alice Smith')) + 1);
    // The same plan with emails only is valid.
    assert.equal(parsePlan(text.replace(', Alice Smith', ''), 'plan.yaml').ok, true);
  });

  const corpus: [string, () => void, string[], RegExp][] = [
    [
      'Mallory (an allowed signer, not listed) with user.name "Alice Smith", from: [Alice Smith]',
      () => tag('f2', { name: 'Alice Smith', email: 'mallory@example.com' }, keys.mallory),
      ['Alice Smith'],
      /mallory@example\.com \(the signer\) is not among those who may approve \(Alice Smith\); with signed approvals, from lists emails/,
    ],
    [
      'the real Alice Smith, where from lists her name only (a name is never proven)',
      () => tag('alice-name', { name: 'Alice Smith', email: 'alice@example.com' }, keys.alice),
      ['alice smith'],
      /not among those who may approve/,
    ],
    [
      "Mallory with user.name set to Alice's email",
      () => tag('name-email', { name: 'alice@example.com', email: 'mallory@example.com' }, keys.mallory),
      ['alice@example.com'],
      /not among those who may approve/,
    ],
    [
      "Mallory tagging as alice@example.com with her own key (the principal must be Alice's)",
      () => tag('forged', { name: 'Alice', email: 'alice@example.com' }, keys.mallory),
      ['alice@example.com'],
      /signature does not verify|signed by mallory@example\.com, not by the approver/,
    ],
    [
      'a from entry written "Alice Smith <alice@example.com>" (not an address) and Mallory as Alice Smith',
      () => tag('angle', { name: 'Alice Smith', email: 'mallory@example.com' }, keys.mallory),
      ['Alice Smith <alice@example.com>'],
      /not among those who may approve/,
    ],
    [
      'a from entry with a Cyrillic look-alike, "аlice@example.com", and the real Alice signing',
      () => tag('cyr', { name: 'Alice', email: 'alice@example.com' }, keys.alice),
      ['аlice@example.com'],
      /not among those who may approve/,
    ],
    [
      'allowed signers with a wildcard principal "*@example.com" for Mallory\'s key, Mallory tagging as alice@example.com',
      () => (signers([`*@example.com ${publicKey(keys.mallory)}`]), tag('wild', { name: 'Alice', email: 'alice@example.com' }, keys.mallory)),
      ['alice@example.com'],
      /signature does not verify|signed by \S+, not by the approver alice@example\.com/,
    ],
    [
      'a wildcard principal for Mallory\'s key, Mallory tagging as herself with user.name "Alice Smith"',
      () => (signers([`*@example.com ${publicKey(keys.mallory)}`]), tag('wild2', { name: 'Alice Smith', email: 'mallory@example.com' }, keys.mallory)),
      ['Alice Smith'],
      /signature does not verify|not among those who may approve|not by the approver/,
    ],
    [
      'Alice\'s key restricted to namespaces="file" (git signs in the namespace "git")',
      () => (signers([`alice@example.com namespaces="file" ${publicKey(keys.alice)}`]), tag('ns', { name: 'Alice', email: 'alice@example.com' }, keys.alice)),
      ['alice@example.com'],
      /signature does not verify/,
    ],
    [
      'a cert-authority line "*@example.com", Mallory with a certificate for mallory@example.com tagging as alice@example.com',
      () => {
        signers([`*@example.com cert-authority ${publicKey(keys.ca)}`]);
        execFileSync('ssh-keygen', ['-q', '-s', keys.ca, '-I', 'mallory', '-n', 'mallory@example.com', `${keys.mallory}.pub`]);
        tag('ca', { name: 'Alice', email: 'alice@example.com' }, `${keys.mallory}-cert.pub`);
      },
      ['alice@example.com'],
      /signature does not verify|not by the approver alice@example\.com/,
    ],
    [
      'an allowed signer for a look-alike domain, alice@examp1e.com, where from lists alice@example.com',
      () => (signers([`alice@examp1e.com ${publicKey(keys.mallory)}`]), tag('digit', { name: 'Alice', email: 'alice@examp1e.com' }, keys.mallory)),
      ['alice@example.com'],
      /not among those who may approve/,
    ],
  ];
  for (const [title, make, from, why] of corpus)
    it(`refuses ${title}`, async () => {
      make();
      const v = await verdict(from);
      assert.equal(v.state, 'blocked', v.message);
      assert.match(v.message, why);
    });

  it('recordApproval by Alice (release-pilot approve) counts against from: [alice@example.com]', async () => {
    git('config', 'user.name', 'Alice Smith');
    git('config', 'user.email', 'alice@example.com');
    git('config', 'user.signingkey', keys.alice);
    await recordApproval(dir, { environment: 'production', version: '1.2.3', planHash: hash, sign: true });
    const v = await verdict(['alice@example.com']);
    assert.equal(v.state, 'open', v.message);
  });
});
