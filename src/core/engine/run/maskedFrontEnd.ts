import type { SecretMasker } from '../../exec/mask';
import type { Logger, Prompter } from './ports';

/**
 * A front end's prompter that only ever sees masked text: a dialog, a terminal question or a
 * notification shows what a step, a check or a breach said, and that may quote a secret.
 */
export function maskedPrompter(p: Prompter, masker: SecretMasker): Prompter {
  const m = <T>(v: T): T => masker.maskDeep(v);
  return {
    confirm: (message, about) => p.confirm(masker.mask(message), about),
    onFailure: (f) => p.onFailure(m(f)),
    onChecklistFailed: (item, detail) => p.onChecklistFailed(m(item), masker.mask(detail)),
    tickManual: (item) => p.tickManual(m(item)),
    onBreach: (b) => p.onBreach(m(b)),
    notify: (message) => p.notify(masker.mask(message)),
    ...(p.confirmRollback ? { confirmRollback: (q) => p.confirmRollback!(m(q)) } : {}),
    ...(p.decideRestore ? { decideRestore: (message) => p.decideRestore!(masker.mask(message)) } : {}),
  };
}

export function maskedLogger(l: Logger, masker: SecretMasker): Logger {
  return { info: (s) => l.info(masker.mask(s)), warn: (s) => l.warn(masker.mask(s)), error: (s) => l.error(masker.mask(s)) };
}
