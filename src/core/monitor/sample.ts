import type { SampleStatus } from '../base/events';
import { describeFetchFailure } from '../base/fetchText';

export interface Sample {
  value: number | null;
  status: Exclude<SampleStatus, 'breach'>;
  message?: string;
}

export interface MetricSource {
  /** What is asked, for the report: the query, URL or command. */
  readonly describe: string;
  sample(): Promise<Sample>;
  /** Lets go of what the source holds between samples (an access log's open file). */
  close?(): Promise<void>;
}

export const ok = (value: number): Sample =>
  Number.isNaN(value) ? { value: null, status: 'nan', message: 'the source returned NaN' } : { value, status: 'ok' };
export const error = (message: string): Sample => ({ value: null, status: 'error', message });

export const failure = (e: unknown, timeoutMs: number): Sample => error(describeFetchFailure(e, timeoutMs).detail);
