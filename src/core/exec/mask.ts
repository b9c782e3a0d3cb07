/** Replaces every known secret value with `***` in text headed for a log, journal, report or terminal. */
export class SecretMasker {
  private readonly secrets: string[];

  constructor(values: Iterable<string>) {
    // Longest first, so a secret that contains another is masked whole. Very short values would
    // mask ordinary text everywhere; they are still masked but only when at least 3 characters long.
    this.secrets = [...new Set([...values].filter((v) => v.length >= 3))].sort((a, b) => b.length - a.length);
  }

  get longest(): number {
    return this.secrets[0]?.length ?? 0;
  }

  mask(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  }

  /** Masks a value that may be an object, for journal events. */
  maskDeep<T>(value: T): T {
    if (this.secrets.length === 0) return value;
    return JSON.parse(this.mask(JSON.stringify(value))) as T;
  }

  /**
   * A stream masker: a secret split across two chunks is still masked, because the tail that could
   * begin a secret is held back until the next chunk or the end.
   */
  stream(emit: (text: string) => void): { write(chunk: string): void; end(): void } {
    let held = '';
    const keep = Math.max(0, this.longest - 1);
    return {
      write: (chunk: string) => {
        held += chunk;
        const nl = held.lastIndexOf('\n');
        // Flush up to the last newline, or all but a secret's length when the line is long.
        let cut = nl >= 0 ? nl + 1 : Math.max(0, held.length - keep);
        if (cut === 0) return;
        // Do not cut in the middle of a secret that straddles the cut point.
        for (const s of this.secrets) {
          const start = held.lastIndexOf(s, cut - 1);
          if (start >= 0 && start < cut && start + s.length > cut) cut = start + s.length;
        }
        const masked = this.mask(held.slice(0, cut));
        held = held.slice(cut);
        if (masked) emit(masked);
      },
      end: () => {
        if (held) emit(this.mask(held));
        held = '';
      },
    };
  }
}

const ANSI_RE = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
/** Terminal control sequences and other control characters removed, for text shown outside a terminal. */
export function plainText(text: string): string {
  return text.replace(ANSI_RE, '').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
}
