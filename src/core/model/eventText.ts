import type { EventOf, NewEvent, ReleaseEvent } from './events';

type Type = ReleaseEvent['type'];
type Field<T extends Type> = Exclude<keyof EventOf<T>, 'type' | 'at'>;

/**
 * The free-text fields of each event: what a step, a check, a person or a tool said, which may
 * quote a secret and is masked before it is written. Every other field is the journal's own record
 * (version, commit, run id, names, ids, numbers, states) and is written as it is: masking one would
 * change what the release is and decides. A new event type does not compile until it is listed.
 */
export const TEXT_FIELDS: { readonly [T in Type]: readonly Field<T>[] } = {
  'release.started': [],
  'acceptance.checked': ['expected', 'said', 'source'],
  'checklist.item.changed': ['title', 'by', 'reason', 'detail'],
  'deploy.colors': [],
  'canary.weight': [],
  'phase.started': [],
  'phase.finished': [],
  'step.started': ['name', 'command'],
  'step.running': [],
  'step.interrupted': ['message'],
  'step.finished': ['message', 'tail'],
  'step.waived': ['by', 'reason'],
  'gate.changed': ['message', 'approvals', 'override'],
  'release.paused': ['message', 'stoppedBy'],
  'release.resumed': ['by'],
  decision: ['by', 'reason'],
  'baseline.captured': [],
  'metric.sample': ['message'],
  'guard.breached': ['rule'],
  'monitoring.verdict': ['explanation'],
  'monitoring.window': ['guards'],
  'monitoring.extended': ['reason'],
  'verification.planned': ['coreApi'],
  'rollback.started': ['reason', 'by', 'forcedOver'],
  'rollback.finished': ['message'],
  'database.marked': [],
  'database.writes': [],
  'rollback.database': ['message'],
  'retire.inherited': [],
  'announcement.sent': ['channel', 'message'],
  'changelog.generated': ['sections'],
  'release.finished': ['message'],
  'note.added': ['author', 'text'],
  warning: ['message'],
};

/** The event with each of its free-text fields passed through `mask` (a field's strings at any depth), the rest as it is. */
export function maskEventText<E extends NewEvent>(e: E, mask: (value: unknown) => unknown): E {
  const fields = TEXT_FIELDS[e.type] as readonly string[] | undefined;
  // An event of a type this build does not know (a journal from a newer one) is all text.
  if (!fields) return mask(e) as E;
  const out: Record<string, unknown> = { ...e };
  for (const f of fields) if (out[f] !== undefined) out[f] = mask(out[f]);
  return out as E;
}
