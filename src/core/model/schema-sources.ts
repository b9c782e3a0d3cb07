// The plan schema's metric sources: where a metric's samples come from. `schema.ts` puts them in a metric.
import * as z from 'zod/mini';
import { doc, str } from './schema-parts';

export const PrometheusSource = z.strictObject({
  url: doc(str(), 'The base URL of the Prometheus server, such as `http://prometheus:9090`; `/api/v1/query` is appended. Plan references are resolved.'),
  query: doc(
    str(),
    'A PromQL instant query that returns one series or a scalar (aggregate with `sum()`); its value is the sample. Plan references are resolved.',
  ),
});
export const ScrapeSource = z.strictObject({
  url: doc(str(), 'The URL of a Prometheus text-format endpoint, such as `http://app:8080/metrics`. Plan references are resolved.'),
  metric: doc(str(), 'The metric name; for `kind: quantile`, the histogram name without `_bucket`.'),
  labels: doc(
    z._default(z.record(z.string(), z.string()), {}),
    'Label matchers that pick the series, such as `{ status: "5.." }`. Each value is a regular expression that must match the whole label value; the matching series are summed.',
  ),
  kind: doc(
    z._default(z.enum(['gauge', 'rate', 'ratio', 'quantile']), 'gauge'),
    "How the sample is computed from the scrapes. `gauge`: the value (the sum of the matching series). `rate`: a counter's increase per second between two scrapes (a reset counts from zero). `ratio`: the increase of the matching series over the increase of all the metric's series (an error ratio). `quantile`: the `quantile` of the histogram's observations between two scrapes. Rates need a first scrape, made before the window starts.",
  ),
  quantile: doc(z._default(z.number().check(z.gt(0), z.lt(1)), 0.99), 'The quantile of `kind: quantile`, between 0 and 1 exclusive (0.99 is the p99).'),
});
export const HttpJsonSource = z.strictObject({
  url: doc(str(), 'The URL of a JSON document, read with GET; an HTTP error status is an error sample. Plan references are resolved.'),
  field: doc(
    str(),
    "A JSONPath that picks the number in the document, as jsonpath-plus evaluates it (filters run in its safe evaluator, never as JavaScript). Examples: `$.stats.requests.errorRate`, `$.items[0].value`, `$.checks[?(@.name=='db')].latency`, `$['key.with.dots']`. Without the leading `$`, the path is read as if `$.` came first, so the dotted form of earlier plans (`stats.requests.errorRate`, `items[0].value`, `items.0.value`) still works. It must match exactly one value: a path that matches nothing, or several values (`$.items[*].value`), is an error sample that says so. A string that holds a number counts as that number; `null` is an empty sample.",
  ),
});

const STATUS_SPEC_RE = /^([1-5]xx|[1-5]\d\d)$/;

export const AccessLogSource = z.strictObject({
  path: doc(
    str(),
    "The access log's path, relative to the workspace or absolute, such as `/var/log/nginx/access.log`. Plan references are resolved. Each sample reads only the lines appended since the previous one; the first read of a watch (made before the baseline and before the window, as for rates) only notes where the file ends, so the log's history is never counted. Rotation is followed: when the path names a new file (logrotate's rename, nginx's `reopen`), the old file is read to its end, then the new one from its start; when the file shrank (copytruncate), reading starts again at 0 (lines written between the last read and the copy are lost, as with any copytruncate). A last line without its newline waits for the next sample; a line over 64 KiB is skipped.",
  ),
  format: doc(
    z._default(z.enum(['combined', 'json']), 'combined'),
    'How the lines are written. `combined`: the nginx and Apache combined format (`$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`; the common format without referer and user agent is read too), with the request time, if any, as the next word after it (nginx: `log_format timed \'$remote_addr … "$http_user_agent" $request_time\';`). `json`: one JSON object per line (nginx `log_format … escape=json`), fields named by `statusField` and `requestTimeField`.',
  ),
  statistic: doc(
    z.enum(['rate', 'errorRatio', 'p50', 'p90', 'p95', 'p99']),
    "What the sample is, over the lines appended since the previous sample. `rate`: requests per second. `errorRatio`: the share of requests whose status is in `errorStatus`, between 0 and 1 (no request: a no-traffic sample). `p50`, `p90`, `p95`, `p99`: that percentile (nearest rank) of the request times, in the unit the log writes them (nginx `$request_time`: seconds); lines without a request time are left out of it, and a log with none gives error samples. Lines that are not in the format are counted and named in the sample's message, not judged; when no line of a sample could be read, the sample is an error.",
  ),
  errorStatus: doc(
    z._default(z.array(z.string().check(z.regex(STATUS_SPEC_RE, 'expected a status class such as 5xx or a status such as 429'))).check(z.minLength(1)), [
      '5xx',
    ]),
    'The statuses `errorRatio` counts as errors: classes such as `5xx` or `4xx`, or exact statuses such as `429`; `[4xx, 5xx]` counts both classes.',
  ),
  statusField: doc(
    z._default(str(), 'status'),
    'With `format: json`: the field that holds the HTTP status (a number or a string of 3 digits); a dotted path reaches into nested objects (`response.status`).',
  ),
  requestTimeField: doc(
    z._default(str(), 'request_time'),
    'With `format: json`: the field that holds the request time (a number, or a string holding one; `-` or empty is no time). A dotted path reaches into nested objects.',
  ),
  maxReadMiB: doc(
    z._default(z.number().check(z.gt(0), z.lte(4096)), 128),
    'The most a sample reads, in MiB (128 by default: a second or two of reading). When more was appended since the previous sample, the sample reads the newest `maxReadMiB` only and is an error sample (unusable, for every statistic), its message saying how much was skipped: the skipped requests could be exactly the failing ones. Such samples count towards `consecutiveErrorLimit` as any unusable sample. A log that grows faster than this between two samples needs a larger value or a shorter `interval`.',
  ),
});

export const StubStatusSource = z.strictObject({
  url: doc(str(), "The URL of nginx's `stub_status` page, such as `http://127.0.0.1/nginx_status`. Plan references are resolved."),
  field: doc(
    z.enum(['active', 'accepts', 'handled', 'requests', 'reading', 'writing', 'waiting']),
    '`active`, `reading`, `writing`, `waiting`: the connections now, as nginx reports them. `accepts`, `handled`, `requests`: those counters as a rate per second between two samples (the first read of a watch, made before the baseline and before the window, gives the start; a counter that went down, nginx restarted, counts from zero).',
  ),
});
