import type { Clock } from '../base/clock';
import { describeFetchFailure, fetchText } from '../base/fetchText';

/** POSTs a Slack-compatible `{ text }` body; retried on network errors and 5xx. */
export async function postWebhook(
  url: string,
  body: { text: string },
  timeoutMs: number,
  retries: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<{ ok: boolean; detail: string }> {
  let detail = '';
  let tried = 0;
  for (let attempt = 0; attempt <= retries; attempt++) {
    tried = attempt + 1;
    try {
      const res = await fetchText(url, timeoutMs, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        statusOnly: true,
        signal,
      });
      if (res.ok) return { ok: true, detail: `webhook answered HTTP ${res.status} (attempt ${attempt + 1})` };
      detail = `webhook answered HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) break;
    } catch (e) {
      if (signal.aborted) {
        detail = 'the release was stopped before the webhook answered';
        break;
      }
      const f = describeFetchFailure(e, timeoutMs);
      detail = f.timedOut ? `webhook did not answer within ${timeoutMs} ms` : `webhook unreachable: ${f.reason}`;
    }
    if (attempt < retries) await clock.sleep(500 * 2 ** attempt, signal);
    if (signal.aborted) {
      detail += '; the release was stopped before the next attempt';
      break;
    }
  }
  return { ok: false, detail: `announcement failed: ${detail} after ${tried} attempt(s)` };
}
