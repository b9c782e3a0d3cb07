import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { parsePlan } from '../../src/core/plan/load';
import { smallPlan, workspace } from '../support/fixtures';
import { withServer } from '../support/server';

/** A header value HTTP cannot send is refused at validation with its line, or at run time naming the header, never quoting it. */
const withVerification = (body: string) => smallPlan().replace(/ {2}verification:\n[\s\S]*?\n {2}announcement:/, `  verification:\n${body}\n  announcement:`);
const check = (url: string, header: string) => `    http:
      - name: API
        url: ${url}
        headers:
          ${header}`;

describe('HTTP header values HTTP cannot send', function () {
  this.timeout(60_000);

  for (const [what, value, refused] of [
    ['a CR LF (header injection)', '"a\\r\\nX-Evil: 1"', /header value holds a line break at position 2, which HTTP cannot send/],
    ['a lone LF', '"a\\nb"', /a line break/],
    ['a NUL', '"a\\0b"', /a NUL/],
    ['an emoji', '"key-🔑"', /a character beyond Latin-1 \(U\+1F511\)/],
    ['a CJK character', '"值"', /beyond Latin-1 \(U\+503C\)/],
  ] as const) {
    it(`validate refuses ${what}, with the header's line`, () => {
      const plan = withVerification(check('http://127.0.0.1:9/x', `X-Tok: ${value}`));
      const r = parsePlan(plan, 'plan.yaml');
      assert.ok(!r.ok, 'refused');
      const p = r.problems.find((x) => refused.test(x.message));
      assert.ok(p, JSON.stringify(r.problems));
      assert.equal(p.line, plan.split('\n').findIndex((l) => l.includes('X-Tok:')) + 1);
    });
  }

  it('accepts Latin-1 values (é, tab)', () => {
    assert.ok(parsePlan(withVerification(check('http://127.0.0.1:9/x', 'X-Tok: "café\\tok"')), 'plan.yaml').ok);
  });

  for (const secret of ['tok-1\r\nX-Evil: 1', 'tok-🔑-secret', 'tok-ключ-secret']) {
    it(`at run time a value from \${env:…} with ${JSON.stringify(secret)}: the check fails naming the header, the value nowhere, no request sent`, async () => {
      const seen: string[] = [];
      await withServer(
        (req, res) => (seen.push(req.url ?? ''), res.end('ok')),
        async (srv) => {
          const ws = workspace(withVerification(check(`${srv.url}/x`, 'X-Tok: ${env:HTOK}')));
          const s = await (await Release.start(ws.options({ env: { ...process.env, HTOK: secret } }))).run();
          assert.notEqual(s.status, 'released');
          assert.deepEqual(seen, [], 'nothing was sent');
          const runs = path.join(ws.dir, '.release/runs');
          const [run] = fs.readdirSync(runs);
          const journal = fs.readFileSync(path.join(runs, run, 'journal.jsonl'), 'utf8');
          assert.match(journal, /header X-Tok: its value, plan references resolved, holds a .* which HTTP cannot send; the request was not sent/);
          assert.ok(!/ByteString|Invalid header value|ERR_INVALID_CHAR/i.test(journal), 'no raw Node error');
          assert.ok(!journal.includes(secret.slice(0, 5)), 'the value is not quoted');
        },
      );
    });
  }
});
