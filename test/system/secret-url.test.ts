import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SecretMasker } from '../../src/core/exec/mask';
import { HttpJsonSource } from '../../src/core/monitor/httpjson';
import { Release } from '../../src/core/engine/run/engine';
import { smallPlan, workspace } from '../support/fixtures';
import { startServer, type TestServer } from '../support/server';

/**
 * A secret inside a URL the release requests travels in the form `new URL()` gives it (a path,
 * a query), which is neither the value nor encodeURIComponent's form. A server that quotes the
 * request path puts that form into the sample's message: it must be masked too.
 */
export const HOSTILE_URL_SECRETS = [
  'p@ss word!',
  'plus+plus+value',
  'per%cent%zz',
  'already%20encoded%2Fvalue',
  'ünïcödé-sécret',
  'emoji-🔑-key',
  'slash/in/secret',
  'amp&and=eq',
  'quote\'"<tag>',
  'tab\tand space',
  'back\\slash{curly}|pipe^',
  'semi;colon:comma,dollar$',
  'brackets[0]~tilde`tick',
];

/** A server answering every request with the path it was sent, as JSON. */
async function echoServer(): Promise<TestServer & { seen: string[] }> {
  const seen: string[] = [];
  const server = await startServer((req, res) => {
    seen.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  return { ...server, seen };
}

describe('a secret in a URL is masked in the form the request carries', function () {
  this.timeout(60_000);
  let srv: Awaited<ReturnType<typeof echoServer>>;
  before(async () => {
    srv = await echoServer();
  });
  after(() => srv.close());

  for (const secret of HOSTILE_URL_SECRETS) {
    it(`path and query: ${JSON.stringify(secret)}`, async () => {
      const masker = new SecretMasker([secret]);
      const m = masker.token;
      const places: [string, string][] = [
        ['/p/', ''],
        ['/q?k=', '&end=1'],
      ];
      for (const [before, after] of places) {
        // A `?` ends a path: in the path the secret's tail would go to the query; not this test's case.
        if (before === '/p/' && /[?#]|^\.|\/\./.test(secret)) continue;
        if (secret.includes('#')) continue;
        srv.seen.length = 0;
        const sample = await new HttpJsonSource(`http://127.0.0.1:${srv.port}${before}${secret}${after}`, '$.path', 5000).sample();
        const sent = srv.seen[0];
        assert.ok(sent.startsWith(before) && sent.endsWith(after), sent);
        const carried = sent.slice(before.length, sent.length - after.length);
        assert.equal(masker.mask(sent), `${before}${m}${after}`, `the form sent, ${JSON.stringify(carried)}, is masked`);
        assert.ok(!masker.mask(sample.message ?? '').includes(carried), `the sample's message hides ${JSON.stringify(carried)}`);
      }
    });
  }

  it('a release whose http metric quotes its URL: no form of the secret in the journal, report.md and report.json', async () => {
    const secret = 'p@ss word!';
    const monitoring = `  window: 1s
  interval: 200ms
  consecutiveErrorLimit: 20
  baseline:
    fixed: { echo: 0 }
  metrics:
    - id: echo
      http: { url: "http://127.0.0.1:${srv.port}/echo-ok?k=\${env:HTOK}", field: "$.path" }
      guard: { max: 1 }`;
    const ws = workspace(smallPlan({ monitoring }));
    await (await Release.start(ws.options({ env: { ...process.env, HTOK: secret } }))).run();
    const runs = path.join(ws.dir, '.release', 'runs');
    const [run] = fs.readdirSync(runs);
    const journal = fs.readFileSync(path.join(runs, run, 'journal.jsonl'), 'utf8');
    assert.ok(
      srv.seen.some((s) => s.includes('p@ss%20word!')),
      'the request carried the WHATWG form',
    );
    assert.match(journal, /echo-ok\?k=/, 'the journal quotes the URL');
    for (const f of ['journal.jsonl', 'report.md', 'report.json']) {
      const file = path.join(runs, run, f);
      if (!fs.existsSync(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const form of [secret, 'p@ss%20word!', 'p%40ss%20word%21']) assert.ok(!text.includes(form), `${f} holds ${form}`);
    }
  });
});
