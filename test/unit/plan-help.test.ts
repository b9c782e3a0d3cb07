import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  containerPath,
  declaredVariables,
  didYouMean,
  didYouMeanEdits,
  keyHover,
  keySuggestions,
  refHover,
  refSuggestions,
  siblingKeys,
  valueSuggestions,
  type JsonSchema,
} from '../../src/core/plan/help';
import { planJsonSchema } from '../../src/core/plan/json-schema';
import { ROOT } from '../support/helpers';

const schema = planJsonSchema() as JsonSchema;
const plan = fs.readFileSync(path.join(ROOT, 'test/fixtures/ws-basic/.release/plan.yaml'), 'utf8');

/** The plan with `insert` as a new line after the line equal to `after`; returns the lines and the new line's number. */
function withLine(after: string, insert: string): { lines: string[]; line: number } {
  const lines = plan.split('\n');
  const at = lines.indexOf(after);
  assert.ok(at >= 0, `no line ${after}`);
  lines.splice(at + 1, 0, insert);
  return { lines, line: at + 1 };
}

function keysAt(after: string, insert: string): { path: string[]; keys: string[] } {
  const { lines, line } = withLine(after, insert);
  const column = insert.length;
  const p = containerPath(lines, line, column);
  const keyColumn = insert.replace(/^(\s*)(- )*/, (m) => ' '.repeat(m.length)).length;
  const present = siblingKeys(lines, line, keyColumn);
  return { path: p, keys: keySuggestions(schema, p, present).map((k) => k.key) };
}

describe('plan help in the editor (keys, values, references, hovers, quick fixes)', () => {
  it('at the top level, offers the sections not yet written', () => {
    const { path: p, keys } = keysAt('  file: qa/verdict.txt', '');
    assert.deepEqual(p, []);
    assert.ok(keys.includes('changelog') && keys.includes('variables') && keys.includes('announce'), keys.join(' '));
    for (const present of ['release', 'acceptance', 'checklist', 'phases', 'rollback', 'monitoring']) assert.ok(!keys.includes(present), present);
  });

  it('inside a mapping, offers its keys minus the ones written', () => {
    const { path: p, keys } = keysAt('  interval: 250ms', '  ');
    assert.deepEqual(p, ['monitoring']);
    assert.ok(keys.includes('failureLimit') && keys.includes('onBreach'), keys.join(' '));
    for (const present of ['window', 'interval', 'baseline', 'metrics', 'shortWindowReason']) assert.ok(!keys.includes(present), present);
  });

  it('inside a list item, offers the item keys minus those of the same item; a new item gets them all', () => {
    const same = keysAt('      title: Health', '      ');
    assert.deepEqual(same.path, ['monitoring', 'metrics', '[]']);
    assert.ok(same.keys.includes('prometheus') && same.keys.includes('unit'), same.keys.join(' '));
    assert.ok(!same.keys.includes('id') && !same.keys.includes('title') && !same.keys.includes('guard'), same.keys.join(' '));

    const fresh = keysAt('      guard: { min: 1 }', '    - ');
    assert.deepEqual(fresh.path, ['monitoring', 'metrics', '[]']);
    assert.ok(fresh.keys.includes('id') && fresh.keys.includes('guard'), fresh.keys.join(' '));
  });

  it('follows nested lists: a checklist item, a phase step, a rollback step', () => {
    assert.deepEqual(keysAt('    manual: true', '    ').path, ['checklist', '[]']);
    const step = keysAt('        run: node app.js --smoke', '        ');
    assert.deepEqual(step.path, ['phases', 'staging', 'steps', '[]']);
    assert.ok(step.keys.includes('timeout') && step.keys.includes('production') && !step.keys.includes('run'), step.keys.join(' '));
    assert.deepEqual(keysAt('      run: rm -f state/deployed', '      ').path, ['rollback', 'steps', '[]']);
    assert.deepEqual(keysAt("        run: cp '${backup.path}' data.txt", '        ').path, ['rollback', 'database', 'restore', '[]']);
  });

  it("offers an enum's values, and no keys where the schema has none", () => {
    assert.deepEqual(valueSuggestions(schema, ['monitoring', 'onBreach']).sort(), ['pause', 'prompt', 'rollback']);
    assert.deepEqual(valueSuggestions(schema, ['monitoring', 'metrics', '[]', 'scrape', 'kind']).sort(), ['gauge', 'quantile', 'rate', 'ratio']);
    assert.deepEqual(keySuggestions(schema, ['release', 'name'], new Set()), []);
    assert.deepEqual(keySuggestions(schema, ['nonsense'], new Set()), []);
  });

  it('says what a key takes, whether it is required or its default, and its description', () => {
    const deadline = keyHover(schema, ['rollback', 'deadline'])!;
    assert.match(deadline, /^\*\*deadline\*\*: duration \(30s, 5m, 1h, 250ms\) · optional/);
    assert.match(deadline, /The rollback window/);
    assert.match(keyHover(schema, ['monitoring', 'window'])!, /^\*\*window\*\*: duration .* · required/);
    assert.match(keyHover(schema, ['monitoring', 'onBreach'])!, /"rollback" \| "prompt" \| "pause" · default "rollback"/);
    assert.equal(keyHover(schema, ['monitoring', 'nonsense']), undefined);
  });

  it('offers every built-in reference, the plan variables and env:, each with when it has a value', () => {
    const vars = declaredVariables(['release:', '  name: x', 'variables:', '  region: eu', '  replicas: "3"', 'checklist: []']);
    assert.deepEqual(vars, ['region', 'replicas']);
    const refs = refSuggestions(vars).map((r) => r.ref);
    for (const r of ['release.version', 'release.previousVersion', 'deploy.color', 'target', 'run.dir', 'var.region', 'var.replicas', 'env:'])
      assert.ok(refs.includes(r), r);
    assert.match(refHover('deploy.active', vars)!, /^\$\{deploy\.active\}: blue-green: the colour serving traffic/);
    assert.match(refHover('env:DB_URL', vars)!, /environment variable DB_URL/);
    assert.equal(refHover('nonsense', vars), undefined);
  });

  it('reads the suggestion of a "did you mean" problem, and nothing from others', () => {
    assert.equal(didYouMean('unknown key "windw"; did you mean "window"?'), 'window');
    assert.equal(didYouMean('unknown reference "${release.versoin}"; did you mean "${release.version}"?'), '${release.version}');
    assert.equal(didYouMean('missing required key "window"'), undefined);
  });

  it('a quick fix replaces only the unknown word inside the problem range, every time it appears there', () => {
    assert.deepEqual(didYouMeanEdits('unknown key "windw"; did you mean "window"?', 'windw'), [{ start: 0, end: 5, text: 'window' }]);
    const value = 'grep -q ${release.versoin} state/${release.versoin}';
    const edits = didYouMeanEdits('unknown reference "${release.versoin}"; did you mean "${release.version}"?', value);
    assert.deepEqual(
      edits.map((e) => value.slice(e.start, e.end)),
      ['${release.versoin}', '${release.versoin}'],
    );
    assert.equal(
      edits.reduceRight((t, e) => t.slice(0, e.start) + e.text + t.slice(e.end), value),
      'grep -q ${release.version} state/${release.version}',
    );
    assert.deepEqual(didYouMeanEdits('missing required key "window"', 'window'), []);
    assert.deepEqual(didYouMeanEdits('unknown key "a"; expected one of: b, c', 'a'), []);
  });
});
