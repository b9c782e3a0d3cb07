import type { PhaseId } from '../../model/schema';
import type { ReleaseState } from '../../model/releaseState';
import { postWebhook } from '../../report/announce';
import type { RunContext } from './context';
import { pseudoStep } from './stepExec';
import type { Unit } from './phaseUnits';

type StepPhase = PhaseId | 'rollback';

export function announcementText(s: ReleaseState): string {
  const metrics = Object.values(s.metrics)
    .map((m) => `${m.id} ${m.verdict?.verdict ?? 'n/a'}`)
    .join(', ');
  return `${s.name} ${s.version} released to ${s.environment}${metrics ? ` — monitoring: ${metrics}` : ''}`;
}

/**
 * POSTs `text` to the plan's webhook as a journaled step. `sentMessage` is what the journal's
 * announcement line says for an answer (the release's own says the answer, a rollback's the text).
 * `url` is asked inside the step, so a rollback's announcement that cannot resolve it fails as a step.
 */
export async function webhookStep(
  c: RunContext,
  at: { key: string; phase: StepPhase; name: string },
  text: string,
  url: () => string,
  sentMessage: (r: { ok: boolean; detail: string }) => string,
): Promise<boolean> {
  const wh = c.o.plan.announce.webhook!;
  return pseudoStep(c, at.key, at.phase, at.name, 'POST webhook (URL from the environment)', async (write) => {
    const r = await postWebhook(url(), { text }, wh.timeout, wh.retries, c.clock, c.stopLatch.signal);
    write(r.detail);
    c.append({ type: 'announcement.sent', channel: 'webhook', ok: r.ok, message: sentMessage(r) });
    return { ok: r.ok, message: r.detail };
  });
}

/** Tells the front end (a notification, the CLI's output) as a journaled step. */
export async function notifyStep(c: RunContext, at: { key: string; phase: StepPhase; name: string }, text: string): Promise<boolean> {
  return pseudoStep(c, at.key, at.phase, at.name, 'notification', async (write) => {
    await c.o.prompter.notify(text);
    write(text);
    c.append({ type: 'announcement.sent', channel: 'notification', ok: true, message: text });
    return { ok: true, message: 'notified' };
  });
}

/** A failed announcement is journaled and shown; it does not fail the release. */
export async function runWebhookUnit(c: RunContext, unit: Unit, name: string): Promise<'ok'> {
  const url = c.resolve(c.o.plan.announce.webhook!.url);
  await webhookStep(
    c,
    { key: unit.key, phase: unit.phase, name },
    announcementText(c.state),
    () => url,
    (r) => r.detail,
  );
  return 'ok';
}

export async function runNotifyUnit(c: RunContext, unit: Unit, name: string): Promise<'ok'> {
  await notifyStep(c, { key: unit.key, phase: unit.phase, name }, announcementText(c.state));
  return 'ok';
}
