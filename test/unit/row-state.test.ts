import * as assert from 'node:assert/strict';
import { accessibleLabel, GATE_STATES, ROW_STATES, rowLook, type RowKind } from '../../src/vscode/rowState';

const KINDS = Object.keys(ROW_STATES) as RowKind[];

describe('rows of the Release views say their state in words, as their icon shows it', () => {
  it('every row kind in every state has a state word that starts its accessible label, and an icon', () => {
    const label = 'Watch the metrics against the baseline';
    const description = '7.0 s · error_rate: 0.325 is above the maximum 0.0200';
    let checked = 0;
    for (const kind of KINDS)
      for (const state of ROW_STATES[kind]) {
        const look = rowLook(kind, state);
        assert.match(look.word, /^[A-Z][a-z]+( [a-z]+)*$/, `${kind} ${state}: "${look.word}"`);
        assert.ok(look.icon, `${kind} ${state} has an icon`);
        const spoken = accessibleLabel(look, label, description);
        assert.equal(spoken, `${look.word}: ${label} ${description}`, `${kind} ${state}`);
        checked++;
      }
    assert.ok(checked >= 55, `${checked} kind × state pairs`);
  });

  it('the step, phase and checklist rows say each of their states with its own word', () => {
    for (const kind of ['step', 'phase', 'checklist'] as const) {
      const words = GATE_STATES.map((s) => rowLook(kind, s).word);
      assert.equal(new Set(words).size, GATE_STATES.length, `${kind}: ${words.join(', ')}`);
      for (const s of GATE_STATES) assert.equal(rowLook(kind, s).word.toLowerCase(), s, `${kind} ${s}`);
    }
  });

  it('a failed step reads "Failed:" then what the row shows', () => {
    assert.equal(
      accessibleLabel(rowLook('step', 'failed'), 'Watch the metrics against the baseline', '7.0 s · error_rate: 0.325 is above the maximum'),
      'Failed: Watch the metrics against the baseline 7.0 s · error_rate: 0.325 is above the maximum',
    );
    assert.equal(accessibleLabel(rowLook('step', 'passed'), 'Record the release commit', '12 ms · exit 0'), 'Passed: Record the release commit 12 ms · exit 0');
  });

  it('runs say their outcome: released, rolled back, rollback failed, aborted, abandoned', () => {
    assert.equal(rowLook('run', 'released').word, 'Released');
    assert.equal(rowLook('run', 'rolled-back').word, 'Rolled back');
    assert.equal(rowLook('run', 'rollback-failed').word, 'Rollback failed');
    assert.equal(rowLook('release', 'aborted').word, 'Aborted');
    assert.equal(rowLook('release', 'abandoned').word, 'Abandoned');
    assert.equal(rowLook('release', 'rolled-back').icon, 'history');
    assert.equal(rowLook('gate', 'open').word, 'Open');
    assert.equal(rowLook('rollback', 'rolled-back').word, 'Rolled back');
  });

  it('hostile rows: empty, blank, huge, unknown and odd states still say a state', () => {
    assert.equal(accessibleLabel(rowLook('step', 'failed'), ''), 'Failed');
    assert.equal(accessibleLabel(rowLook('step', 'failed'), '   ', '  '), 'Failed');
    assert.equal(accessibleLabel(rowLook('step', 'failed'), '', 'exit 3'), 'Failed: exit 3');
    const huge = 'x'.repeat(100_000);
    assert.ok(accessibleLabel(rowLook('phase', 'blocked'), 'Deploy', huge).startsWith('Blocked: Deploy x'));
    // A status a newer journal may write, which no table names: the status itself, in words.
    assert.equal(rowLook('run', 'half-done').word, 'Half done');
    assert.equal(rowLook('release', 'half-done').word, 'Half done');
    assert.equal(rowLook('step', 'weird').word, 'Weird');
    assert.equal(rowLook('gate', 'weird').word, 'Weird');
    assert.equal(rowLook('run', '').word, 'Unknown state');
    // A label that itself holds a colon or a state word is said after the state, never instead of it.
    assert.equal(accessibleLabel(rowLook('step', 'passed'), 'Failed: retry', 'exit 0'), 'Passed: Failed: retry exit 0');
    // Inherited object keys are no states.
    assert.equal(rowLook('run', 'constructor').word, 'Constructor');
    assert.equal(rowLook('step', 'toString').word, 'ToString');
  });
});
