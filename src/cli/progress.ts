import { PHASE_TITLES, type Plan } from '../core/model/schema';
import type { ReleaseEvent } from '../core/model/events';
import type { ReleaseState } from '../core/model/releaseState';
import { extendedText, formatNumber, formatSeconds } from '../core/format';
import type { Io } from './io';

/** The CLI's running account of a release, one line per journal event worth a line. */
export function progressPrinter(io: Io, plan: Plan, verbose: boolean) {
  let tick: Record<string, string> = {};
  const fmt = formatNumber;
  let monitorStart = 0;
  /** The detail of the last failed checklist line, so the line that ends the release does not print it again. */
  let failedDetail = '';
  return (e: ReleaseEvent, s: ReleaseState) => {
    switch (e.type) {
      case 'acceptance.checked':
        io.out(`${e.ok ? '✓' : '✗'} acceptance: ${e.ok ? `"${e.expected}"` : `expected "${e.expected}", got "${e.said}"`} (${e.source})`);
        break;
      case 'checklist.item.changed':
        if (e.state !== 'checking') io.out(checklistLine(e));
        if (e.state === 'failed') failedDetail = e.detail ?? '';
        break;
      case 'phase.started':
        io.out(`\n▶ ${PHASE_TITLES[e.phase]}`);
        if (e.phase === 'monitoring') monitorStart = Date.parse(e.at);
        break;
      case 'step.started':
        if (verbose || e.phase === 'rollback') io.out(`  … ${e.name}${verbose ? `\n    $ ${e.command}` : ''}`);
        break;
      case 'step.finished':
        stepFinished(io, e, s, verbose);
        break;
      case 'baseline.captured':
        io.out(`    baseline ${e.metric}: ${fmt(e.mean)} ± ${fmt(e.stdev)} from ${e.samples.length} sample(s)`);
        break;
      case 'metric.sample': {
        tick[e.metric] = `${e.metric} ${fmt(e.value)}${e.warmup ? ' (warm-up)' : e.status === 'ok' ? ' ✓' : e.status === 'breach' ? ' ✗' : ` ?(${e.status})`}`;
        if (Object.keys(tick).length === plan.monitoring.metrics.length) {
          const secs = Math.round((Date.parse(e.at) - monitorStart) / 1000);
          io.out(`    ${String(secs).padStart(4)}/${Math.round(plan.monitoring.window / 1000)} s  ${Object.values(tick).join('   ')}`);
          tick = {};
        }
        break;
      }
      case 'monitoring.extended':
        io.out(`    window ${extendedText(e.extraMs, e.reason)}`);
        break;
      case 'guard.breached':
        if (e.confirmed) io.out(`  ! guard breached: ${e.metric} ${e.rule} (value ${fmt(e.value)}, ${e.consecutive} in a row)`);
        break;
      case 'rollback.started':
        io.out(`\n⟲ Rollback (${e.trigger}): ${e.reason}\n  started ${e.latencyMs} ms after the trigger`);
        break;
      case 'rollback.finished':
        io.out(`${e.outcome === 'rolled-back' ? '✓' : '✗✗'} ${e.message}`);
        break;
      case 'release.paused':
        io.out(
          s.rollback?.database?.action === 'held'
            ? `\n⏸ the code rolled back; the restore waits: ${s.rollback.database.message}`
            : `\n⏸ paused: ${e.message}\n  continue with: release-pilot resume ${s.runId}   (or: release-pilot abandon ${s.runId} --reason TEXT)`,
        );
        break;
      case 'rollback.database':
        if (e.action !== 'held') io.out(`  ${e.ok ? '✓' : '✗'} ${e.message}`);
        break;
      case 'release.finished':
        io.out(
          `\n■ ${e.outcome}: ${failedDetail && e.message.endsWith(`: ${failedDetail}`) ? `${e.message.slice(0, -failedDetail.length - 2)} (above)` : e.message}`,
        );
        break;
      case 'warning':
        io.err(`warning: ${e.message}`);
        break;
    }
  };
}

function checklistLine(e: Extract<ReleaseEvent, { type: 'checklist.item.changed' }>): string {
  const mark = e.state === 'passed' ? '✓' : e.state === 'waived' ? '~' : '✗';
  return `${mark} checklist: ${e.title} — ${e.state === 'waived' ? `waived by ${e.by}: ${e.reason}` : (e.detail ?? '')}`;
}

function stepFinished(io: Io, e: Extract<ReleaseEvent, { type: 'step.finished' }>, s: ReleaseState, verbose: boolean): void {
  const st = s.steps[e.step];
  io.out(`  ${e.ok ? '✓' : '✗'} ${st?.name ?? e.step} (${formatSeconds(e.durationMs)})${e.ok ? '' : ` — ${e.message}`}`);
  // Where it failed, the end of what it printed (a rollback step's above all); --verbose showed it already.
  if (!e.ok && !verbose && e.tail)
    io.out(`${e.tail.replace(/^/gm, '    │ ')}\n    (last lines; the whole output is in ${st?.log ? `the run's ${st.log}` : 'the step log'})`);
}
