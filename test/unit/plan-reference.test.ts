import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { durationMs, durationText } from '../../src/core/model/schema';
import { planJsonSchema } from '../../src/core/plan/json-schema';
import { allKeys, firstSentence, planReference, undocumentedKeys, type JsonSchema } from '../../src/core/plan/reference';
import { BUILTINS } from '../../src/core/plan/scope';
import { ROOT } from '../support/helpers';

const schema = () => planJsonSchema() as JsonSchema;
/** The schema of a key, by its path's parts (`[]` steps into a list's items). */
function at(s: JsonSchema, ...parts: string[]): JsonSchema {
  return parts.reduce((node, part) => (part === '[]' ? node.items! : node.properties![part]), s);
}
/** The longest first sentence an editor hover shows on one or two lines. */
const HOVER_MAX = 160;

describe('plan reference (docs/plan-reference.md) and schema descriptions', () => {
  it('docs/plan-reference.md is what the schema generates (npm run docs:plan writes it)', () => {
    const file = path.join(ROOT, 'docs', 'plan-reference.md');
    const written = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    assert.ok(written === planReference(schema()), 'docs/plan-reference.md differs from the plan schema: run `npm run docs:plan` and commit the result');
  });

  it('every key of the JSON Schema has a description', () => {
    assert.deepEqual(undocumentedKeys(schema()), []);
  });

  it('finds an undocumented key at any depth, in objects and in list items', () => {
    const s = schema();
    delete at(s, 'phases', 'deploy', 'blueGreen', 'retire').description;
    delete at(s, 'checklist', '[]', 'git', 'branch').description;
    delete at(s, 'monitoring', 'metrics', '[]', 'guard', 'mannWhitney').description;
    assert.deepEqual(undocumentedKeys(s), ['checklist[].git.branch', 'phases.deploy.blueGreen.retire', 'monitoring.metrics[].guard.mannWhitney']);
  });

  it('documents every key of the plan, with its type and default, in one table row each', () => {
    const doc = planReference(schema());
    const keys = allKeys(schema());
    assert.ok(keys.length > 150, `only ${keys.length} keys walked`);
    for (const k of keys) {
      if (!k.path.includes('.')) {
        assert.ok(doc.includes(`\n\n${k.schema.description}\n\n`), `no section for ${k.path}`);
        continue;
      }
      const key = k.path.slice(k.path.lastIndexOf('.') + 1);
      const row = new RegExp(`^\\| \\[?\`${key}\`.*\\| ${escapeRe(k.schema.description!.slice(0, 40).replace(/\|/g, '\\|'))}`, 'm');
      assert.match(doc, row, `no row for ${k.path}`);
    }
    assert.match(doc, /\| `timeout` \| duration \| default `10s` \|/);
    assert.match(doc, /\| `onBreach` \| one of `rollback`, `prompt`, `pause` \| default `rollback` \|/);
    assert.match(doc, /\| `window` \| duration \| \*\*required\*\* \|/);
    for (const b of BUILTINS) assert.ok(doc.includes(`| \`\${${b.name}}\` |`), `reference ${b.name} not listed`);
  });

  it("documents each environment's keys, and a freeze's from and to each with its own words", () => {
    const s = schema();
    const env = s.properties!.environments.additionalProperties as JsonSchema;
    const freeze = env.properties!.freeze.items!;
    assert.match(freeze.properties!.from.description!, /^When the freeze starts/);
    assert.match(freeze.properties!.to.description!, /^When the freeze ends/);
    const paths = allKeys(s).map((k) => k.path);
    for (const k of [
      'requires.released',
      'requires.maxAge',
      'approvals.count',
      'approvals.from',
      'approvals.signed',
      'freeze.from',
      'freeze.reason',
      'monitoring.window',
      'variables',
    ])
      assert.ok(paths.includes(`environments.<name>.${k.replace('freeze.', 'freeze[].')}`), `environments.<name>.${k} not walked`);
    const doc = planReference(s);
    assert.match(doc, /### `environments\.<name>\.approvals`/);
    assert.match(doc, /\| `from` \| string \| \*\*required\*\* \| When the freeze starts/);
  });

  it('changes when a description changes', () => {
    const s = schema();
    at(s, 'rollback', 'budget').description = 'Something else.';
    assert.notEqual(planReference(s), planReference(schema()));
  });

  it("each description's first sentence stands alone as a short hover line", () => {
    const long = allKeys(schema())
      .map((k) => ({ path: k.path, first: firstSentence(k.schema.description!) }))
      .filter((x) => x.first.length > HOVER_MAX || !/[.!?]$/.test(x.first));
    assert.deepEqual(long, []);
    assert.equal(firstSentence('Retries. Then `a.b` waits.'), 'Retries.');
    assert.equal(firstSentence('Version `1.4.0` is tagged `v1.4.0`. More.'), 'Version `1.4.0` is tagged `v1.4.0`.');
  });

  it('states duration defaults as a plan writes them, and they load as the default', () => {
    const s = schema();
    assert.equal(at(s, 'rollback', 'deadline').default, '5m');
    assert.equal(at(s, 'monitoring', 'interval').default, '15s');
    assert.deepEqual(at(s, 'phases', 'deploy', 'steps').default, []);
    assert.deepEqual(at(s, 'announce').default, { notify: true });
    for (const ms of [250, 1000, 5000, 15_000, 90_000, 300_000, 3_600_000, 5400_000]) assert.equal(durationMs(durationText(ms)), ms);
    assert.equal(durationText(90_000), '90s');
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
