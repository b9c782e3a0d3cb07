/**
 * Stable codes of the errors a front end recognises. The engine runs in its own bundle, so a front
 * end cannot rely on `instanceof`, nor should it on class names: it matches these codes.
 */
export const ErrorCodes = {
  /** A gate refused: the release did not start, or the rollback/abandon was refused. */
  Gate: 'RP_GATE',
  /** Another process holds the plan's release lock. */
  LockHeld: 'RP_LOCK_HELD',
  /** A run of this plan has no outcome yet; a new release does not start over it. */
  UnresolvedRun: 'RP_UNRESOLVED_RUN',
  /** The journal could not be written; the release stopped before acting on it. */
  JournalWrite: 'RP_JOURNAL_WRITE',
  /** The release was asked to stop (a signal, a closing window). */
  Stopped: 'RP_STOPPED',
  /** A `${…}` reference has no value. */
  UnresolvedReference: 'RP_UNRESOLVED_REFERENCE',
  /** The engine tried a status change its table does not allow; nothing was journaled but a warning. */
  TransitionRefused: 'RP_TRANSITION_REFUSED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The code of an error thrown by the core, or undefined for any other value. */
export function errorCode(e: unknown): ErrorCode | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (Object.values(ErrorCodes) as string[]).includes(code) ? (code as ErrorCode) : undefined;
}
