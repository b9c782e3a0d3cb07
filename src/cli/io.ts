import type { SecretMasker } from '../core/exec/mask';
import type { ReleaseState } from '../core/model/releaseState';
import { EXIT } from './args';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** Raw text with no newline added: a step's output as it comes. */
  write?(s: string): void;
}
export const stdio: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') };

export function maskedIo(io: Io, masker: SecretMasker): Io {
  return { out: (s) => io.out(masker.mask(s)), err: (s) => io.err(masker.mask(s)), write: (s) => (io.write ?? ((t: string) => process.stdout.write(t)))(s) };
}

export function exitCode(s: ReleaseState): number {
  if (s.status === 'released') return EXIT.released;
  if (s.status === 'rolled-back') return EXIT.rolledBack;
  return EXIT.failed;
}
