import type { ReleaseState } from '../../model/releaseState';
import { runShort } from '../../exec/short';
import { clip } from '../../format';
import type { RunContext } from './context';
import { GateError } from '../gates/gateError';

/** What the plan's `blueGreen.active` command says serves now: a colour of the plan, or why it cannot tell. */
export async function liveColour(c: RunContext): Promise<{ colour: string } | { problem: string }> {
  const bg = c.o.plan.phases.deploy.blueGreen!;
  const r = await runShort(c.resolve(bg.active), { cwd: c.o.workspace, timeoutMs: 30_000, env: c.stepEnv({}) });
  const printed = r.stdout.trim();
  if (r.exitCode !== 0) return { problem: `"${bg.active}" failed (exit code ${r.exitCode})` };
  if (!bg.colors.includes(printed)) return { problem: `"${bg.active}" printed "${clip(printed, 40)}", expected ${bg.colors.join(' or ')}` };
  return { colour: printed };
}

/** Whether the live colour is worth reading for this run: a blue-green release whose colours are known. */
const watched = (c: RunContext): c is RunContext & { state: ReleaseState & { colors: { active: string; idle: string } } } =>
  c.o.plan.phases.deploy.strategy === 'blue-green' && Boolean(c.o.plan.phases.deploy.blueGreen) && Boolean(c.state.colors);

/**
 * The colours that may serve now, as the journal tells: the new one once every switch step passed,
 * the old one while none started, either while a switch was cut short.
 */
export function journalLive(s: ReleaseState & { colors: { active: string; idle: string } }): string[] {
  const switches = Object.values(s.steps).filter((st) => st.key.startsWith('deploy/switch.'));
  if (switches.length === 0) return [s.colors.active];
  if (switches.every((st) => st.state === 'passed')) return [s.colors.idle];
  return [s.colors.active, s.colors.idle];
}

/**
 * Before a reopened run rolls back: the traffic must be where its journal says the release left it.
 * A mismatch (the journal edited, or someone switched by hand since) is for a person to decide.
 */
export async function refuseLiveMismatch(c: RunContext): Promise<void> {
  if (!watched(c)) return;
  const live = await liveColour(c);
  if ('problem' in live) {
    c.log.warn(`cannot tell the live colour before the rollback: ${live.problem}`);
    return;
  }
  const expected = journalLive(c.state);
  if (expected.includes(live.colour)) return;
  throw new GateError(
    'rollback-live',
    `the live colour is ${live.colour} (read with blueGreen.active), but the journal of run ${c.runId} says the release left the traffic on ${expected.join(' or ')}; ` +
      'the journal and production disagree, so a person decides: nothing ran',
  );
}

/** After the rollback steps: why the traffic is not back on the colour that served before the release, or undefined. */
export async function notBackOnOldColour(c: RunContext): Promise<string | undefined> {
  if (!watched(c)) return undefined;
  const old = c.state.colors.active;
  const live = await liveColour(c);
  if ('problem' in live) return `cannot tell the live colour after the rollback: ${live.problem}`;
  return live.colour === old
    ? undefined
    : `the traffic is on ${live.colour} after the rollback steps, not on the old colour ${old} (read with blueGreen.active)`;
}
