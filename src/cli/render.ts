import { PHASE_TITLES } from '../core/model/schema';
import { statusName, type ReleaseState } from '../core/model/releaseState';
import { exceptText } from '../core/model/needsAttention';
import { editedJournalLines } from '../core/model/editedJournal';

export function renderStatus(s: ReleaseState): string {
  const L = [
    `${s.name} ${s.version} → ${s.environment}: ${statusName(s).toUpperCase()}${s.outcomeMessage ? ` (${s.outcomeMessage})` : ''}`,
    `run ${s.runId}, started ${s.startedAt} by ${s.user}`,
  ];
  for (const line of editedJournalLines(s)) L.push(`warning: ${line}`);
  if (s.pausedAt) L.push(`paused: ${s.pausedAt.message}`);
  for (const c of s.checklist) L.push(`  [${c.state}] ${c.title}${c.by ? ` (${c.by}${c.reason ? `: ${c.reason}` : ''})` : ''}`);
  for (const p of s.phases) {
    L.push(`  ${p.state.padEnd(11)} ${PHASE_TITLES[p.id]}`);
    for (const k of p.steps) {
      const st = s.steps[k];
      L.push(`      ${st.state.padEnd(11)} ${st.name}${st.message ? ` — ${st.message}` : ''}`);
    }
  }
  if (s.rollback)
    L.push(
      `  rollback (${s.rollback.trigger}): ${s.rollback.outcome ?? 'running'}${exceptText(s.rollback.needsAttention)} — ${s.rollback.reason}; started ${s.rollback.latencyMs} ms after the trigger`,
    );
  return L.join('\n');
}
