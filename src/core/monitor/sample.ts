import type { SampleStatus } from '../model/events';
import { describeFetchFailure } from '../base/fetchText';

export interface Sample {
  value: number | null;
  status: Exclude<SampleStatus, 'breach'>;
  message?: string;
}

export interface MetricSource {
  /** What is asked, for the report: the query, URL or command. */
  readonly describe: string;
  /** One sample; `signal` (the run's interrupt) ends its request or command early. */
  sample(signal?: AbortSignal): Promise<Sample>;
  /** Lets go of what the source holds between samples (an access log's open file). */
  close?(): Promise<void>;
}

export const ok = (value: number): Sample =>
  Number.isNaN(value) ? { value: null, status: 'nan', message: 'the source returned NaN' } : { value, status: 'ok' };
export const error = (message: string): Sample => ({ value: null, status: 'error', message });

export const failure = (e: unknown, timeoutMs: number): Sample => error(describeFetchFailure(e, timeoutMs).detail);

/**
 * A decimal number as a person writes one (`17`, `-0.5`, `.25`, `1e3`), or NaN: JavaScript's
 * Number would also read `0x10` as 16, `0b11` as 3 and `0o7` as 7, which no metric means.
 */
export function decimal(text: string): number {
  const t = text.trim();
  return /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
}
