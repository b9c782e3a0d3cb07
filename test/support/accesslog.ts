import type { AccessLogSettings } from '../../src/core/monitor/accesslog-source';

/** An access-log source's settings as the schema defaults them (combined format, 5xx error ratio), with `over` on top. */
export const accessLogSettings = (over: Partial<AccessLogSettings> = {}): AccessLogSettings => ({
  format: 'combined',
  statistic: 'errorRatio',
  errorStatus: ['5xx'],
  statusField: 'status',
  requestTimeField: 'request_time',
  ...over,
});
