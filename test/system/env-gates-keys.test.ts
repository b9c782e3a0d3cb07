import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { approvalVerdict } from '../../src/core/engine/gates/environmentGates';
import { recordApproval } from '../../src/core/git/approvals';
import { planHash } from '../../src/core/engine/gates/planIdentity';
import { gitRepo, tempDir, write } from '../support/helpers';
import { allowSigners, approvalText, gpgIn, newGpgKey, newSshKey, publicKey, signedApprovalTag } from '../support/approvals';

/**
 * Approvals are counted per signing key, never a key that carries any identity of the operator, and are bound to
 * the commit, the plan and the run's `--var` inputs. Every case is built with real keys (gpg, ssh-keygen) in
 * temporary keyrings and real tags; each must keep the gate shut, and the controls must open it.
 */
const plan = 'release:\n  name: tiny\n';
const hash = planHash(plan);
const version = '1.2.3';

/** The fingerprints of `fpr`'s keys in `home` (primary first, then its subkeys). */
const fingerprints = (home: string, fpr: string) =>
  gpgIn(home, '--list-keys', '--with-colons', fpr)
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]);

describe('approval gate: counted per OpenPGP key, never a key of the operator (real gpg)', function () {
  this.timeout(180_000);
  const dir = tempDir('rp-keys-repo-');
  const git = gitRepo(dir);
  // The operator's keyring is the verifier's: Olivia holds her keys (ultimate) and certified Bob's and Dave's.
  const home = tempDir('rp-keys-o-');
  const bobHome = tempDir('rp-keys-b-');
  const daveHome = tempDir('rp-keys-d-');
  const malloryHome = tempDir('rp-keys-m-');
  const homes = [home, bobHome, daveHome, malloryHome];
  let head = '';
  let saved: string | undefined;
  const keys = { olivia: '', oliviaOther: '', bob: '', dave: '' };
  const operator = () => ({ name: 'Olivia', email: 'olivia@example.com', signingKey: keys.olivia });
  const give = (from: string, fpr: string, certify?: string[]) => {
    gpgIn(home, '--import', '--', write(from, `${fpr}.asc`, gpgIn(from, '--armor', '--export', fpr)));
    if (certify) gpgIn(home, '--quick-lsign-key', fpr, ...certify);
  };
  const tag = (name: string, who: { name: string; email: string }, key: string, gnupgHome: string, commit = head) => {
    const msg = approvalText({ commit, plan: hash, approver: `${who.name} <${who.email}>`, at: new Date().toISOString() });
    execFileSync(
      'git',
      [
        ...['-c', `user.name=${who.name}`, '-c', `user.email=${who.email}`, '-c', `user.signingkey=${key}`],
        ...['tag', '-s', '-m', msg, `release-pilot/approval/production/${version}/${name}`, commit],
      ],
      { cwd: dir, env: { ...process.env, GNUPGHOME: gnupgHome }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  };
  const verdict = (count: number, op = operator()) =>
    approvalVerdict(dir, { count, from: [], signed: true }, { environment: 'production', version, commit: head, planHash: hash }, op);

  before(() => {
    write(dir, 'a.txt', 'a\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: a');
    head = git('rev-parse', 'HEAD');
    git('config', 'gpg.format', 'openpgp');
    // Olivia's signing key carries two user IDs: her work address (git's user.email) and a second one.
    keys.olivia = newGpgKey(home, 'Olivia <olivia@example.com>');
    gpgIn(home, '--quick-add-uid', keys.olivia, 'O. Winter <liv@home.example>');
    // A second key of hers whose only user ID is neither her email nor her name.
    keys.oliviaOther = newGpgKey(home, 'Liv W <lw@elsewhere.example>');
    // Bob's key carries two user IDs, both certified by the verifier.
    keys.bob = newGpgKey(bobHome, 'Bob <bob@example.com>');
    gpgIn(bobHome, '--quick-add-uid', keys.bob, 'Carol <carol@example.com>');
    gpgIn(bobHome, '--quick-add-key', keys.bob, 'ed25519', 'sign', 'never');
    give(bobHome, keys.bob, ['Bob <bob@example.com>', 'Carol <carol@example.com>']);
    keys.dave = newGpgKey(daveHome, 'Dave <dave@example.com>');
    give(daveHome, keys.dave, ['Dave <dave@example.com>']);
    saved = process.env.GNUPGHOME;
    process.env.GNUPGHOME = home;
  });
  after(() => {
    if (saved === undefined) delete process.env.GNUPGHOME;
    else process.env.GNUPGHOME = saved;
    for (const h of homes) execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: h }, stdio: 'ignore' });
  });
  beforeEach(() =>
    git('tag', '-l', 'release-pilot/*')
      .split('\n')
      .filter(Boolean)
      .forEach((t) => git('tag', '-d', t)),
  );

  it('control: Bob and Dave, two keys, make two approvals; the journaled keys are their primary fingerprints', async () => {
    tag('bob', { name: 'Bob', email: 'bob@example.com' }, keys.bob, bobHome);
    tag('dave', { name: 'Dave', email: 'dave@example.com' }, keys.dave, daveHome);
    const v = await verdict(2);
    assert.equal(v.state, 'open', v.message);
    assert.deepEqual(v.approvals?.map((a) => a.key).sort(), [keys.bob, keys.dave].sort());
  });

  const corpus: [string, () => void, number, RegExp][] = [
    [
      'one key with two certified user IDs signing as Bob and as Carol, count 2',
      () => {
        tag('bob', { name: 'Bob', email: 'bob@example.com' }, keys.bob, bobHome);
        tag('carol', { name: 'Carol', email: 'carol@example.com' }, keys.bob, bobHome);
      },
      2,
      /1 of 2 approval\(s\).*signed with the key [0-9A-F]{40}, which already counted for release-pilot\/approval\/production\/1\.2\.3\/(bob|carol)/,
    ],
    [
      "the same key's primary as Bob and its signing subkey as Carol, count 2",
      () => {
        tag('bob', { name: 'Bob', email: 'bob@example.com' }, keys.bob, bobHome);
        tag('carol', { name: 'Carol', email: 'carol@example.com' }, `${fingerprints(bobHome, keys.bob)[1]}!`, bobHome);
      },
      2,
      /1 of 2 approval\(s\).*which already counted for/,
    ],
    [
      'the operator under the second user ID of her own signing key (another name, another email)',
      () => tag('liv', { name: 'O. Winter', email: 'liv@home.example' }, keys.olivia, home),
      1,
      /0 of 1 approval\(s\).*(signed with the key of|the approver is) the person starting the release/,
    ],
    [
      "the operator's signing subkey under her second user ID",
      () => {
        gpgIn(home, '--quick-add-key', keys.olivia, 'ed25519', 'sign', 'never');
        tag('liv-sub', { name: 'O. Winter', email: 'liv@home.example' }, `${fingerprints(home, keys.olivia).pop()}!`, home);
      },
      1,
      /(signed with the key of|the approver is) the person starting the release/,
    ],
    [
      "a key certified for Mallory that also carries a user ID with the operator's email (not certified)",
      () => {
        const m = newGpgKey(malloryHome, 'Mallory <mallory@example.com>');
        give(malloryHome, m, ['Mallory <mallory@example.com>']);
        gpgIn(malloryHome, '--quick-add-uid', m, 'Olivia <olivia@example.com>');
        give(malloryHome, m);
        tag('mallory', { name: 'Mallory', email: 'mallory@example.com' }, m, malloryHome);
      },
      1,
      /carries a user ID of the person starting the release \(olivia@example\.com\)/,
    ],
  ];
  for (const [title, make, count, why] of corpus)
    it(`refuses ${title}`, async () => {
      make();
      const v = await verdict(count);
      assert.equal(v.state, 'blocked', v.message);
      assert.match(v.message, why);
    });

  it("refuses the operator's user.signingkey named by fingerprint, whose only user ID is another email than git's user.email", async () => {
    tag('other2', { name: 'Liv W', email: 'lw@elsewhere.example' }, keys.oliviaOther, home);
    const v = await verdict(1, { ...operator(), signingKey: keys.oliviaOther });
    assert.equal(v.state, 'blocked', v.message);
    assert.match(v.message, /(signed with the key of|the approver is) the person starting the release/);
  });
});

describe('approval gate: counted per SSH key, never a key of the operator (real ssh-keygen)', function () {
  this.timeout(120_000);
  const dir = tempDir('rp-sshkeys-repo-');
  const git = gitRepo(dir);
  let head = '';
  const keys = { bob: '', dave: '', olga: '' };
  const operator = () => ({ name: 'Olga', email: 'olga@example.com', signingKey: keys.olga });
  const signers = (lines: string[]) => allowSigners(git, lines);
  const tag = (name: string, who: { name: string; email: string }, key: string) =>
    signedApprovalTag(dir, {
      name,
      head,
      who,
      key,
      version,
      message: approvalText({ commit: head, plan: hash, approver: `${who.name} <${who.email}>`, at: new Date().toISOString() }),
    });
  const verdict = (count: number) =>
    approvalVerdict(dir, { count, from: [], signed: true }, { environment: 'production', version, commit: head, planHash: hash }, operator());

  before(() => {
    write(dir, 'a.txt', 'a\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: a');
    head = git('rev-parse', 'HEAD');
    keys.bob = newSshKey('bob');
    keys.dave = newSshKey('dave');
    keys.olga = newSshKey('olga');
    git('config', 'gpg.format', 'ssh');
  });
  beforeEach(() =>
    git('tag', '-l', 'release-pilot/*')
      .split('\n')
      .filter(Boolean)
      .forEach((t) => git('tag', '-d', t)),
  );

  it('control: Bob and Dave, two allowed keys, make two approvals', async () => {
    signers([`bob@example.com ${publicKey(keys.bob)}`, `dave@example.com ${publicKey(keys.dave)}`]);
    tag('bob', { name: 'Bob', email: 'bob@example.com' }, keys.bob);
    tag('dave', { name: 'Dave', email: 'dave@example.com' }, keys.dave);
    const v = await verdict(2);
    assert.equal(v.state, 'open', v.message);
    assert.equal(new Set(v.approvals?.map((a) => a.key)).size, 2);
  });

  it('refuses one SSH key listed twice with two principals, signing as Bob and as Carol, count 2', async () => {
    signers([`bob@example.com ${publicKey(keys.bob)}`, `carol@example.com ${publicKey(keys.bob)}`]);
    tag('bob', { name: 'Bob', email: 'bob@example.com' }, keys.bob);
    tag('carol', { name: 'Carol', email: 'carol@example.com' }, keys.bob);
    const v = await verdict(2);
    assert.equal(v.state, 'blocked', v.message);
    // git names the first principal the file lists for the key: the second tag fails on who signed it, or on its key.
    assert.match(
      v.message,
      /1 of 2 approval\(s\).*(signed with the key SHA256:\S+, which already counted for|signed by bob@example\.com, not by the approver carol@example\.com)/,
    );
  });

  it("refuses the operator's own SSH key listed under a second principal", async () => {
    signers([`olga@example.com ${publicKey(keys.olga)}`, `o.k@home.example ${publicKey(keys.olga)}`]);
    tag('olga2', { name: 'O. K', email: 'o.k@home.example' }, keys.olga);
    const v = await verdict(1);
    assert.equal(v.state, 'blocked', v.message);
    assert.match(v.message, /(signed with the key of|the approver is) the person starting the release/);
  });

  it("refuses a key listed for the operator's email, signing under another principal (not her user.signingkey)", async () => {
    signers([`olga@example.com ${publicKey(keys.dave)}`, `dave@example.com ${publicKey(keys.dave)}`]);
    tag('dave', { name: 'Dave', email: 'dave@example.com' }, keys.dave);
    const v = await verdict(1);
    assert.equal(v.state, 'blocked', v.message);
    // git names the first principal listed for the key (olga@): refused on who signed it, or on the operator's user ID.
    assert.match(
      v.message,
      /carries a user ID of the person starting the release \(olga@example\.com\)|signed by olga@example\.com, not by the approver dave@example\.com/,
    );
  });
});

describe("approval gate: bound to the commit, the plan and the run's --var inputs (real SSH signatures)", function () {
  this.timeout(120_000);
  const dir = tempDir('rp-inputs-repo-');
  const git = gitRepo(dir);
  let head = '';
  const operator = { name: 'Olga', email: 'olga@example.com' };
  const rule = { count: 1, from: [], signed: true };
  const byValue = (o: Record<string, string>) => ({ overrides: Object.fromEntries(Object.entries(o).map(([k, value]) => [k, { value }])) });
  const approve = (inputs?: Record<string, string>) =>
    recordApproval(dir, { environment: 'production', version, planHash: hash, sign: true, ...(inputs ? { inputs: byValue(inputs) } : {}) });
  const verdict = (inputs: Record<string, string>, commit = head) =>
    approvalVerdict(dir, rule, { environment: 'production', version, commit, planHash: hash, inputs: byValue(inputs) }, operator);

  before(() => {
    write(dir, 'a.txt', 'a\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: a');
    head = git('rev-parse', 'HEAD');
    const key = path.join(tempDir('rp-inputs-key-'), 'id');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]);
    git('config', 'gpg.format', 'ssh');
    git('config', 'gpg.ssh.allowedSignersFile', write(tempDir('rp-inputs-signers-'), 'allowed', `alice@example.com ${fs.readFileSync(`${key}.pub`, 'utf8')}`));
    git('config', 'user.name', 'Alice');
    git('config', 'user.email', 'alice@example.com');
    git('config', 'user.signingkey', key);
  });
  beforeEach(() =>
    git('tag', '-l', 'release-pilot/*')
      .split('\n')
      .filter(Boolean)
      .forEach((t) => git('tag', '-d', t)),
  );

  it('control: approved with --var url=a, released with --var url=a: open, and the gate names the overridden variable', async () => {
    await approve({ url: 'http://a.example' });
    const v = await verdict({ url: 'http://a.example' });
    assert.equal(v.state, 'open', v.message);
    assert.match(v.message, /for the run inputs --var url/);
  });

  it('control: approved and released without --var: open', async () => {
    await approve();
    assert.equal((await verdict({})).state, 'open');
  });

  const corpus: [string, () => Promise<unknown>, Record<string, string>, RegExp][] = [
    ['an approval without --var, released with --var url=…', () => approve(), { url: 'http://evil.example' }, /approved without --var; this run overrides url/],
    [
      'an approval with --var url=a, released with --var url=b',
      () => approve({ url: 'http://a.example' }),
      { url: 'http://b.example' },
      /approved with --var url; this run overrides url, with other values/,
    ],
    [
      'an approval with --var url=a, released without --var',
      () => approve({ url: 'http://a.example' }),
      {},
      /approved with --var url; this run overrides nothing/,
    ],
    [
      'an approval with url and port, released with url only',
      () => approve({ url: 'http://a.example', port: '80' }),
      { url: 'http://a.example' },
      /approved with --var port, url; this run overrides url/,
    ],
    ['an approval whose value is a name=value boundary shift', () => approve({ a: 'b=c' }), { 'a=b': 'c' }, /approved with --var a; this run overrides a=b/],
    ['an approval with an empty value, released with none', () => approve({ url: '' }), {}, /approved with --var url; this run overrides nothing/],
    ['an approval with a unicode look-alike value', () => approve({ url: 'http://exаmple.com' }), { url: 'http://example.com' }, /other values/],
  ];
  for (const [title, make, inputs, why] of corpus)
    it(`refuses ${title}`, async () => {
      await make();
      const v = await verdict(inputs);
      assert.equal(v.state, 'blocked', v.message);
      assert.match(v.message, why);
    });

  it('refuses an approval of the commit the release tag pointed to before it was moved to a new commit', async () => {
    git('tag', 'v1.2.3');
    await approve();
    write(dir, 'b.txt', 'b\n');
    git('add', '-A');
    git('commit', '-qm', 'feat: b');
    git('tag', '-f', 'v1.2.3');
    const moved = git('rev-parse', 'HEAD');
    try {
      const v = await verdict({}, moved);
      assert.equal(v.state, 'blocked', v.message);
      assert.match(v.message, /not the release commit/);
    } finally {
      git('reset', '-q', '--hard', head);
      git('tag', '-d', 'v1.2.3');
    }
  });
});
