import * as assert from 'node:assert/strict';
import { exceptText, needsAttentionIn } from '../../src/core/model/needsAttention';
import { rollbackEnd } from '../../src/core/model/stateViews';
import { rollbackAnnouncementText } from '../../src/core/engine/run/rollbackRun';
import { applyEvent, initialState, type ReleaseState } from '../../src/core/model/releaseState';

// A rollback step's `release-pilot: needs-attention HOST: WHY` lines, read from its output.

describe("a rollback step's needs-attention lines", () => {
  it('an empty output, or one without the line, names no host', () => {
    assert.deepEqual(needsAttentionIn(''), []);
    assert.deepEqual(needsAttentionIn('PLAY RECAP\nh1 : ok=6 changed=3 unreachable=0 failed=0\n'), []);
  });

  it('a line at the start of the output or inside an Ansible debug message gives the host and why, without the quote', () => {
    assert.deepEqual(needsAttentionIn('release-pilot: needs-attention h3: unreachable over SSH\n'), ['h3: unreachable over SSH']);
    const ansible = 'ok: [h3] => {\n    "msg": "release-pilot: needs-attention h3: unreachable over SSH; h3 serves 1.0.0 and takes traffic again"\n}\n';
    assert.deepEqual(needsAttentionIn(ansible), ['h3: unreachable over SSH; h3 serves 1.0.0 and takes traffic again']);
  });

  it('each host once, in the order printed; CRLF endings and trailing blanks are not part of why', () => {
    const out = 'release-pilot: needs-attention h4: down  \r\nrelease-pilot: needs-attention h2: left drained\r\nrelease-pilot: needs-attention h4: down\n';
    assert.deepEqual(needsAttentionIn(out), ['h4: down', 'h2: left drained']);
  });

  it('a line without a host or without a reason names nothing', () => {
    assert.deepEqual(needsAttentionIn('release-pilot: needs-attention\nrelease-pilot: needs-attention h3:\nrelease-pilot: needs-attention : why\n'), []);
  });

  it('a line at the end of a 10 MB output is found', () => {
    const out = `${'x'.repeat(10 * 1024 * 1024)}\nrelease-pilot: needs-attention h9: unreachable over SSH\n`;
    assert.deepEqual(needsAttentionIn(out), ['h9: unreachable over SSH']);
  });

  it('no host: no "except"; hosts: each named', () => {
    assert.equal(exceptText(undefined), '');
    assert.equal(exceptText([]), '');
    assert.equal(exceptText(['h3: unreachable over SSH']), ' except h3: unreachable over SSH');
  });

  it('the rollback view keeps the hosts, and the announcement names them with the outcome', () => {
    assert.equal('needsAttention' in rollbackEnd({ at: '2026-01-01T00:00:00Z', outcome: 'rolled-back', message: 'm', needsAttention: [] }), false);
    let s: ReleaseState = { ...initialState(), lifecycle: 'running', name: 'orders', version: '1.1.0', environment: 'production' };
    s = applyEvent(s, {
      type: 'rollback.started',
      at: '2026-01-01T00:00:00Z',
      trigger: 'step',
      reason: 'deploy failed',
      by: 'ops',
      requestedAt: '2026-01-01T00:00:00Z',
      latencyMs: 5,
    } as never);
    s = applyEvent(s, {
      type: 'rollback.finished',
      at: '2026-01-01T00:00:10Z',
      outcome: 'rolled-back',
      message: 'rolled back except h3: unreachable over SSH',
      durationMs: 10_000,
      needsAttention: ['h3: unreachable over SSH'],
    } as never);
    assert.deepEqual(s.rollback?.needsAttention, ['h3: unreachable over SSH']);
    assert.match(rollbackAnnouncementText(s), /ROLLED BACK in .* except h3: unreachable over SSH; a person is needed there\. Reason/);
  });
});
