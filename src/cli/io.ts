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

/** Resolves once everything written to `stream` so far has been handed to the system (or the reader is gone). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.once('error', () => resolve());
    stream.write('', () => resolve());
  });
}

/**
 * The one way the CLI ends: the exit code is set, and the process exits only once its output is written,
 * so a reader that is slow to read a pipe still gets every byte (an exit before would cut it at the pipe's buffer).
 */
export async function exitAfterOutput(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}
