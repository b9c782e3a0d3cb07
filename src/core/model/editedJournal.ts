import type { ReleaseState } from './releaseState';

/**
 * What a person is told of a journal whose status events the transition table refused (edited, replayed or
 * spliced by hand): one line per event left out. The report's warnings and `status` say the same words, so a
 * run whose record cannot be trusted never reads as an ordinary one anywhere.
 */
export function editedJournalLines(s: Pick<ReleaseState, 'transitionFlags'>): string[] {
  return (s.transitionFlags ?? []).map((f) => `the journal was edited or damaged: ${f} was left out`);
}
