import type { AccessLogFormat, AccessLogStatistic } from './accesslog';
import { errorStatusMatcher, LogTally, parseLogLine, percentile, QUANTILES } from './accesslog';
import { LogTail } from './logtail';
import type { MetricSource, Sample } from './sample';

export interface AccessLogSettings {
  format: AccessLogFormat;
  statistic: AccessLogStatistic;
  errorStatus: string[];
  statusField: string;
  requestTimeField: string;
  /** The most one sample reads, in MiB; a sample that had to skip older bytes is an error sample that says how much. */
  maxReadMiB?: number;
}

/** The plan's default for `maxReadMiB` (schema-sources.ts). */
export const DEFAULT_MAX_READ_MIB = 128;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 3 : 1)} MiB`;

/**
 * An access log, followed between samples (logtail.ts): each sample is a statistic of the requests
 * logged since the previous one. Its message says what was counted, so the journal shows it.
 */
export class AccessLogSource implements MetricSource {
  readonly describe: string;
  private readonly tail: LogTail;
  private readonly isError: (status: number) => boolean;
  private lastRead?: number;
  private lineNo = 0;
  private readonly maxReadMiB: number;

  constructor(
    readonly path: string,
    private readonly s: AccessLogSettings,
  ) {
    this.tail = new LogTail(path);
    this.maxReadMiB = s.maxReadMiB ?? DEFAULT_MAX_READ_MIB;
    this.isError = errorStatusMatcher(s.errorStatus);
    const what = s.statistic === 'rate' ? 'request rate' : s.statistic === 'errorRatio' ? `${s.errorStatus.join('+')} ratio` : `${s.statistic} request time`;
    this.describe = `${what} of ${path} (${s.format})`;
  }

  async close(): Promise<void> {
    await this.tail.close();
  }

  async sample(): Promise<Sample> {
    const tally = new LogTally(this.isError, this.s.statistic in QUANTILES);
    let read;
    try {
      read = await this.tail.read(
        (line) => {
          this.lineNo++;
          if (line.trim() === '') return;
          tally.add(parseLogLine(line, this.s), `line ${this.lineNo} read`);
        },
        Math.floor(this.maxReadMiB * 1024 * 1024),
      );
    } catch (e) {
      return { value: null, status: 'error', message: (e as Error).message };
    }
    const now = performance.now();
    const since = this.lastRead;
    this.lastRead = now;
    if (read.first || since === undefined) return { value: null, status: 'empty', message: `first read of ${this.path}: counting starts at its end` };
    for (const why of read.unreadable) tally.addUnreadable(why);
    const seconds = (now - since) / 1000;
    const counted = [
      `${tally.requests} request(s), ${tally.errors} error(s) in ${seconds.toFixed(3)} s`,
      ...(tally.unparseable ? [`${tally.unparseable} line(s) not read (first: ${tally.firstProblem})`] : []),
      ...(tally.badTimes ? [`${tally.badTimes} bad request time(s)`] : []),
      ...(read.rotation ? [`log ${read.rotation}`] : []),
    ].join('; ');
    if (read.skipped > 0) {
      // Never a partial value: what was skipped may be exactly the failing requests (a burst of 500s).
      // The sample is unusable, for every statistic, and says how much it could not read.
      return {
        value: null,
        status: 'error',
        message: `${mib(read.skipped)} of ${mib(read.bytes + read.skipped)} appended since the previous sample skipped (over maxReadMiB, ${this.maxReadMiB} MiB a sample): the ${this.s.statistic} of the part read could hide the skipped requests; raise maxReadMiB or sample more often; the part read: ${counted}`,
      };
    }
    if (tally.requests === 0) {
      if (tally.unparseable > 0) return { value: null, status: 'error', message: `no line in ${this.s.format} format: ${counted}` };
      if (this.s.statistic === 'rate') return { value: 0, status: 'ok', message: counted };
      return { value: null, status: 'no-traffic', message: counted };
    }
    if (this.s.statistic === 'rate') return { value: tally.requests / seconds, status: 'ok', message: counted };
    if (this.s.statistic === 'errorRatio') return { value: tally.errors / tally.requests, status: 'ok', message: counted };
    const times = tally.requestTimes;
    if (times.length === 0)
      return {
        value: null,
        status: 'error',
        message: `no request time in the lines read (${counted}); ${this.s.format === 'json' ? `expected a number in the field ${this.s.requestTimeField}` : 'append $request_time to the log_format, after the user agent'}`,
      };
    return { value: percentile(times, QUANTILES[this.s.statistic]), status: 'ok', message: `${counted}; ${times.length} request time(s)` };
  }
}
