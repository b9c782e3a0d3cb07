import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import { Release } from '../../src/core/engine/run/engine';
import { parsePlan } from '../../src/core/plan/load';
import { journalLines, scripted, smallPlan, workspace } from '../support/fixtures';
import { startServer } from '../support/server';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A real HTTP server that records every request and answers with what `answer` says. */
async function recorder(answer: (req: Seen, n: number) => { status: number; body: string }) {
  const seen: Seen[] = [];
  const srv = await startServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const r: Seen = { method: req.method!, url: req.url!, headers: req.headers, body, at: Date.now() };
      seen.push(r);
      const a = answer(r, seen.length);
      res.statusCode = a.status;
      res.end(a.body);
    });
  });
  return { url: srv.url, seen, close: srv.close };
}

const withVerification = (body: string) => smallPlan().replace(/ {2}verification:\n[\s\S]*?\n {2}announcement:/, `  verification:\n${body}\n  announcement:`);

describe('HTTP checks with a method, headers, a body and retries', function () {
  this.timeout(60_000);
  const TOKEN = 'tok-9f2!a"b\\c';

  it('sends a POST with headers and a JSON body, and judges the answer by status and body', async () => {
    // A GraphQL server answers 200 even when the query failed: the body match tells.
    const srv = await recorder((r) =>
      r.body.includes('orders') ? { status: 200, body: '{"data":{"orders":[]}}' } : { status: 200, body: '{"errors":[{"message":"bad"}]}' },
    );
    try {
      const ws = workspace(
        withVerification(`    http:
      - name: GraphQL orders
        url: ${srv.url}/graphql
        method: POST
        headers:
          Content-Type: application/json
          Authorization: Bearer \${env:TINY_TOKEN}
          X-Release: \${release.version}
        requestBody: '{"query":"{ orders { id } }","release":"\${release.version}"}'
        body: '^\\{"data"'`),
      );
      const s = await (await Release.start(ws.options({ env: { ...process.env, TINY_TOKEN: TOKEN } }))).run();
      assert.equal(s.status, 'released', s.outcomeMessage);
      const r = srv.seen.find((x) => x.url === '/graphql')!;
      assert.equal(r.method, 'POST');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(r.headers['x-release'], '1.2.3');
      assert.deepEqual(JSON.parse(r.body), { query: '{ orders { id } }', release: '1.2.3' });
      // The token went to the server, and nowhere in the run's files.
      const files = fs.readdirSync(path.join(ws.dir, '.release/runs', s.runId), { recursive: true }) as string[];
      for (const f of files) {
        const p = path.join(ws.dir, '.release/runs', s.runId, f);
        if (fs.statSync(p).isFile()) assert.ok(!fs.readFileSync(p, 'utf8').includes('tok-9f2'), `${f} holds the token`);
      }
    } finally {
      await srv.close();
    }
  });

  it('fails on a 200 whose body does not match (GraphQL errors), and says so', async () => {
    const srv = await recorder(() => ({ status: 200, body: '{"errors":[{"message":"bad"}]}' }));
    try {
      const ws = workspace(
        withVerification(
          `    http:\n      - name: GraphQL\n        url: ${srv.url}/graphql\n        method: POST\n        requestBody: '{}'\n        body: '^\\{"data"'`,
        ),
      );
      const prompter = scripted({ failure: [{ action: 'pause' }] });
      const s = await (await Release.start(ws.options({ prompter }))).run();
      assert.equal(s.status, 'paused');
      assert.match(s.steps['verification/http.0'].message!, /body does not match/);
    } finally {
      await srv.close();
    }
  });

  it('retries with backoff until the service answers, and names the attempt that passed', async () => {
    // 503 twice (warming up after the switch), then 200.
    const srv = await recorder((_r, n) => (n <= 2 ? { status: 503, body: 'warming up' } : { status: 200, body: 'ok' }));
    try {
      const ws = workspace(
        withVerification(`    http:\n      - name: Core API\n        url: ${srv.url}/health\n        retries: 3\n        retryDelay: 150ms`),
      );
      const r = await Release.start(ws.options());
      const s = await r.run();
      assert.equal(s.status, 'released', s.outcomeMessage);
      assert.equal(srv.seen.length, 3);
      const gaps = [srv.seen[1].at - srv.seen[0].at, srv.seen[2].at - srv.seen[1].at];
      // The pauses are at least 150 ms and then 300 ms (sleeps are never shorter; they may be longer).
      assert.ok(gaps[0] >= 145 && gaps[1] >= 295, JSON.stringify(gaps));
      assert.match(s.steps['verification/http.0'].message!, /^HTTP 200 in \d+ ms \(attempt 3 of 4\)$/);
      // One step result for the check, not one per attempt.
      assert.equal(journalLines(ws, r.runId).filter((e) => e.type === 'step.finished' && e.step === 'verification/http.0').length, 1);
    } finally {
      await srv.close();
    }
  });

  it('stops retrying after its retries and asks what to do', async () => {
    const srv = await recorder(() => ({ status: 503, body: 'down' }));
    try {
      const ws = workspace(withVerification(`    http:\n      - url: ${srv.url}/health\n        retries: 2\n        retryDelay: 50ms`));
      const prompter = scripted({ failure: [{ action: 'pause' }] });
      const s = await (await Release.start(ws.options({ prompter }))).run();
      assert.equal(s.status, 'paused');
      assert.equal(srv.seen.length, 3);
      assert.match(s.steps['verification/http.0'].message!, /^HTTP 503, expected 200 \(attempt 3 of 3\)$/);
    } finally {
      await srv.close();
    }
  });

  it('a header value that would inject another header is not sent as one', async () => {
    const srv = await recorder(() => ({ status: 200, body: 'ok' }));
    try {
      // Written in the plan, validation refuses it; read from the environment, it is known only at run time.
      const written = parsePlan(
        withVerification(`    http:\n      - url: ${srv.url}/x\n        headers:\n          X-Note: "a\\r\\nX-Injected: 1"`),
        'plan.yaml',
      );
      assert.ok(!written.ok && written.problems.some((p) => /a line break/.test(p.message)), 'refused at validation');
      const ws = workspace(withVerification(`    http:\n      - url: ${srv.url}/x\n        headers:\n          X-Note: \${env:RP_NOTE}`));
      const prompter = scripted({ failure: [{ action: 'pause' }] });
      const s = await (await Release.start(ws.options({ prompter, env: { ...process.env, RP_NOTE: 'a\r\nX-Injected: 1' } }))).run();
      assert.ok(
        srv.seen.every((r) => r.headers['x-injected'] === undefined),
        'no injected header reached the server',
      );
      assert.equal(s.status, 'paused', 'the check fails instead');
    } finally {
      await srv.close();
    }
  });

  const refused: [string, string, RegExp][] = [
    ['a header name with a space', `headers:\n          "X Bad": 1`, /expected an HTTP header name/],
    ['a header name with a colon', `headers:\n          "X-Bad:": v`, /expected an HTTP header name/],
    ['an empty header name', `headers:\n          "": v`, /expected an HTTP header name/],
    ['a header value that is a number', `headers:\n          X-Count: 3`, /expected string, got number/],
    ['an unknown method', `method: TRACE`, /expected one of "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"/],
    ['a method in lower case', `method: post`, /expected one of/],
    ['negative retries', `retries: -1`, /retries/],
    ['too many retries', `retries: 1000`, /retries/],
    ['a retry delay that is no duration', `retryDelay: soon`, /expected a duration/],
    ['a body that is not text', `requestBody: { a: 1 }`, /expected string/],
    ['a body with the default GET', `requestBody: '{}'`, /a request body needs a method that sends one/],
    ['a body with HEAD', `method: HEAD\n        requestBody: x`, /a request body needs a method that sends one/],
    ['an unknown plan reference in a header', `headers:\n          X-V: \${release.versoin}`, /release\.versoin/],
  ];
  for (const [what, line, expected] of refused)
    it(`refuses ${what} at its line`, () => {
      const text = withVerification(`    http:\n      - url: http://127.0.0.1:1/x\n        ${line}`);
      const r = parsePlan(text, 'plan.yaml');
      assert.equal(r.ok, false, what);
      const problems = r.ok ? [] : r.problems;
      const p = problems.find((x) => expected.test(`${x.path}: ${x.message}`));
      assert.ok(p, `${what}: ${problems.map((x) => `${x.line} ${x.path}: ${x.message}`).join('\n')}`);
      const at = text.split('\n').findIndex((l) => l.includes(line.split('\n').at(-1)!.trim())) + 1;
      assert.equal(p.line, at, what);
    });
});
