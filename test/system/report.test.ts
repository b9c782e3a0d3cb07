import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { buildReport, renderMarkdown, mdSafe } from '../../src/core/report/report';
import { changelogSince, insertChangelogSection, nextVersion, parseCommit, renderChangelogSection, updateChangelogFile } from '../../src/core/report/changelog';
import { postWebhook } from '../../src/core/report/announce';
import { realClock } from '../../src/core/base/clock';
import { gitRepo, tempDir, write } from '../support/helpers';
import { scripted, smallPlan, workspace } from '../support/fixtures';
import { freePort, withServer } from '../support/server';

describe('the release report', () => {
  it('follows the spec for a successful release, field by field from the journal', async () => {
    const ws = workspace();
    const s = await (await Release.start(ws.options())).run();
    const r = buildReport(s);
    assert.deepEqual(r.releaseLog.version, 'v1.2.3');
    assert.equal(r.releaseLog.time, s.startedAt.slice(0, 16).replace('T', ' '));
    assert.deepEqual(r.verification, {
      dbMigration: 'Success',
      serviceStatus: 'Success',
      coreApi: 'No HTTP check in plan',
      monitoring: 'Normal (1 s window, 1 metric)',
    });
    assert.deepEqual(r.incidentResponse, { rollbackTriggered: 'No', reason: 'N/A' });
    assert.deepEqual(
      r.timeline.map((p) => [p.phase, p.state]),
      s.phases.map((p) => [
        {
          preparation: 'Preparation',
          staging: 'Staging smoke test',
          backup: 'Production DB backup',
          migration: 'DB migration',
          deploy: 'Service deployment',
          config: 'Config update',
          verification: 'Verification',
          monitoring: 'Monitoring',
          announcement: 'Announcement',
        }[p.id],
        p.state,
      ]),
    );
    assert.deepEqual(
      r.checklist.map((c) => [c.id, c.state, c.by]),
      s.checklist.map((c) => [c.id, c.state, c.by]),
    );
    const md = renderMarkdown(r);
    // The spec's four sections with its field names, in order.
    const order = [
      '### 1. Release Log',
      '- **Version**: v1.2.3',
      '- **Time**: ',
      '- **Content**: ',
      '### 2. Changelog',
      '- **New**: ',
      '- **Fixed**: ',
      '### 3. Verification',
      '- **DB Migration**: Success',
      '- **Service Status**: Success',
      '- **Core API**: ',
      '- **Monitoring**: Normal (1 s window, 1 metric)',
      '### 4. Incident Response',
      '- **Rollback Triggered**: No',
      '- **Reason (if Yes)**: N/A',
    ];
    let at = -1;
    for (const line of order) {
      const i = md.indexOf(line, at + 1);
      assert.ok(i > at, `"${line}" after position ${at}`);
      at = i;
    }
    const onDisk = JSON.parse(fs.readFileSync(path.join(r.release.runId ? path.join(ws.dir, '.release/runs', r.release.runId) : '', 'report.json'), 'utf8'));
    assert.deepEqual(onDisk, JSON.parse(JSON.stringify(r)));
  });

  it('reports a failed release with the step that failed, and a rolled-back one with reason and latency', async () => {
    const failing = workspace(smallPlan({ deploy: `    steps:\n      - name: deploy\n        run: echo "image pull failed" >&2; exit 9` }));
    const paused = await (await Release.start(failing.options())).run();
    const pr = buildReport(paused);
    assert.equal(pr.verification.serviceStatus, 'Failed (deploy: exit code 9)');
    assert.equal(pr.verification.monitoring, 'Not run');
    assert.equal(pr.incidentResponse.rollbackTriggered, 'No');

    const ws = workspace(smallPlan({ deploy: `    steps:\n      - name: deploy\n        run: exit 9` }));
    const s = await (await Release.start(ws.options({ prompter: scripted({ failure: [{ action: 'rollback' }] }) }))).run();
    const r = buildReport(s);
    assert.equal(r.incidentResponse.rollbackTriggered, 'Yes');
    assert.equal(r.incidentResponse.reason, 'deploy failed: exit code 9');
    assert.equal(r.incidentResponse.latencyMs, s.rollback!.latencyMs);
    assert.equal(r.incidentResponse.outcome, 'rolled-back');
    assert.equal(r.verification.dbMigration, 'Success, then rolled back to the version before v1.2.3');
    assert.equal(r.verification.serviceStatus, 'Failed (deploy: exit code 9); rolled back to the version before v1.2.3');
    const md = renderMarkdown(r);
    assert.match(
      md,
      /- \*\*Rollback Triggered\*\*: Yes\n- \*\*Reason \(if Yes\)\*\*: deploy failed: exit code 9\n- \*\*Rollback Outcome\*\*: rolled-back\n- \*\*Trigger → Rollback Start\*\*: \d+ ms \(trigger: step\)/,
    );
    assert.ok(r.timeline.some((p) => p.phase === 'Rollback' && p.state === 'rolled-back'));
  });

  it('keeps HTML, script and control characters from commits and output inert in Markdown', () => {
    assert.equal(mdSafe('<script>alert(1)</script> **x** `y`\x1b[31m|'), '&lt;script&gt;alert(1)&lt;/script&gt; \\*\\*x\\*\\* \\`y\\`\\|');
  });
});

describe('the changelog from git', () => {
  function repoWithHistory() {
    const dir = tempDir('rp-git-');
    const git = gitRepo(dir);
    let n = 0;
    const commit = (msg: string) => {
      write(dir, `f${n++}.txt`, msg);
      git('add', '-A');
      git('commit', '-qm', msg);
    };
    commit('feat: first release');
    git('tag', 'v1.4.0');
    commit('feat(api): add order notes');
    commit('fix(ui): align the totals column');
    commit('perf: cache the price list');
    commit('docs: explain the release plan');
    commit('update the README by hand');
    commit('fix(security): escape customer names in emails');
    commit('feat(billing)!: invoices are issued in UTC\n\nBREAKING CHANGE: invoice timestamps are now UTC');
    const hash = git('rev-parse', '--short', 'HEAD~1');
    commit(`Revert "fix(security): escape customer names in emails"\n\nThis reverts commit ${git('rev-parse', 'HEAD~1')}.`);
    void hash;
    // A merged branch with its own commits, and a squash merge with conventional lines in its body.
    git('checkout', '-qb', 'feature');
    commit('feat(search): search orders by customer');
    git('checkout', '-q', 'main');
    git('merge', '--no-ff', '-q', 'feature', '-m', "Merge branch 'feature'");
    commit('Checkout improvements (#42)\n\n* fix(checkout): keep the cart on reload\n* feat(checkout): remember the last address');
    return { dir, git };
  }

  it('turns Conventional Commits since the last tag into Keep a Changelog sections, counting the rest', async () => {
    const { dir } = repoWithHistory();
    const cl = await changelogSince(dir);
    assert.equal(cl.previousTag, 'v1.4.0');
    assert.deepEqual(
      cl.sections.Added.sort(),
      [
        'BREAKING: billing: invoices are issued in UTC — invoice timestamps are now UTC',
        'api: add order notes',
        'checkout: remember the last address',
        'search: search orders by customer',
      ].sort(),
    );
    assert.deepEqual(cl.sections.Fixed.sort(), ['checkout: keep the cart on reload', 'ui: align the totals column'].sort());
    // The security fix and its revert cancel out; the hand-written commit is counted, not listed, as the range has conventional ones.
    assert.deepEqual(cl.sections.Security, []);
    assert.deepEqual(
      parseCommit('abc1234', 'fix(security): escape customer names in emails').map((e) => [e.section, e.text]),
      [['Security', 'security: escape customer names in emails']],
    );
    assert.deepEqual(cl.sections.Changed, ['cache the price list']);
    assert.deepEqual(cl.omitted, { hidden: { docs: 1 }, nonConventional: 1, revertPairs: 1 });
    assert.ok(!cl.entries.some((e) => /explain the release plan|Merge branch/.test(e.text)), 'docs and merge commits stay out');
    assert.equal(cl.bump, 'major');
    assert.equal(nextVersion(cl.previousTag, cl.bump), '2.0.0');
  });

  it('suggests minor for features and patch for fixes', () => {
    assert.equal(nextVersion('v1.4.0', 'minor'), '1.5.0');
    assert.equal(nextVersion('v1.4.0', 'patch'), '1.4.1');
    assert.equal(nextVersion(null, 'minor'), '0.1.0');
    assert.deepEqual(
      parseCommit('abc1234', 'fix: x').map((e) => e.section),
      ['Fixed'],
    );
    assert.deepEqual(parseCommit('abc1234', 'chore: bump deps'), []);
  });

  it('resolves version auto in a release from the commits', async () => {
    const ws = workspace(smallPlan().replace('version: 1.2.3', 'version: auto'));
    fs.writeFileSync(path.join(ws.dir, '.gitignore'), '.release/runs/\n.release/lock\n*.txt\n');
    const git = gitRepo(ws.dir);
    git('add', '-A');
    git('commit', '-qm', 'feat: one');
    git('tag', 'v1.2.3');
    write(ws.dir, 'x.js', '1');
    git('add', '-A');
    git('commit', '-qm', 'feat(api): two');
    const s = await (await Release.start(ws.options())).run();
    assert.equal(s.version, '1.3.0');
    assert.deepEqual(s.changelog?.sections.Added, ['api: two']);
    assert.equal(buildReport(s).changelog.new[0], 'api: two');
  });

  it('puts the new section on top and keeps every other byte of CHANGELOG.md', () => {
    const existing = '# Changelog\r\n\nIntro with trailing spaces   \n\n## [Unreleased]\n\n- wip\n\n## [1.4.0] - 2026-01-01\n\n### Added\n\n- first\n';
    const section = renderChangelogSection('1.5.0', '2026-11-26', { Added: ['api: add order notes'], Fixed: ['ui: align'] });
    const out = insertChangelogSection(existing, section);
    const at = out.indexOf('## [1.5.0]');
    assert.equal(out.slice(0, at), existing.slice(0, existing.indexOf('## [1.4.0]')), 'everything before is unchanged');
    assert.equal(out.slice(at + section.length + 1), existing.slice(existing.indexOf('## [1.4.0]')), 'everything after is unchanged');
    assert.equal(section, '## [1.5.0] - 2026-11-26\n\n### Added\n\n- api: add order notes\n\n### Fixed\n\n- ui: align\n');
    const dir = tempDir();
    const file = write(dir, 'CHANGELOG.md', existing);
    updateChangelogFile(file, '1.5.0', '2026-11-26', { Added: ['x'] });
    assert.ok(fs.readFileSync(file, 'utf8').endsWith(existing.slice(existing.indexOf('## [1.4.0]'))));
  });
});

describe('announcements', () => {
  it('posts a Slack-compatible body to a real local webhook', async () => {
    const got: unknown[] = [];
    await withServer(
      (req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          got.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) });
          res.end('ok');
        });
      },
      async (server) => {
        const url = `${server.url}/hook`;
        const ws = workspace(smallPlan({ extra: 'announce:\n  notify: false\n  webhook:\n    url: ${env:TINY_WEBHOOK}\n    retries: 0' }));
        const s = await (await Release.start(ws.options({ env: { ...process.env, TINY_WEBHOOK: url } }))).run();
        assert.equal(s.status, 'released');
        assert.deepEqual(got, [{ method: 'POST', type: 'application/json', body: { text: 'tiny 1.2.3 released to production — monitoring: health pass' } }]);
        assert.deepEqual(s.announcements, [{ channel: 'webhook', ok: true, message: 'webhook answered HTTP 200 (attempt 1)' }]);
        const journal = fs.readFileSync(path.join(ws.dir, '.release/runs', s.runId, 'journal.jsonl'), 'utf8');
        assert.ok(!journal.includes(url), 'the webhook URL is a secret and never written');
      },
    );
  });

  it('marks the announcement failed when the webhook is down, and the release stays released', async () => {
    const url = `http://127.0.0.1:${await freePort()}/hook`;
    const direct = await postWebhook(url, { text: 'x' }, 1000, 1, realClock, new AbortController().signal);
    assert.equal(direct.ok, false);
    assert.match(direct.detail, /^announcement failed: webhook unreachable: ECONNREFUSED after 2 attempt\(s\)$/);
    const ws = workspace(smallPlan({ extra: 'announce:\n  notify: false\n  webhook:\n    url: ${env:TINY_WEBHOOK}\n    retries: 0' }));
    const s = await (await Release.start(ws.options({ env: { ...process.env, TINY_WEBHOOK: url } }))).run();
    assert.equal(s.status, 'released');
    assert.equal(s.outcomeMessage, 'every phase passed; 1 announcement(s) failed');
    assert.equal(s.announcements[0].ok, false);
    assert.match(renderMarkdown(buildReport(s)), /- webhook: \*\*failed\*\* — announcement failed/);
  });
});
