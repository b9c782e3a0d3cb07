import type { Clock } from '../base/clock';
import { describeFetchFailure, fetchText } from '../base/fetchText';

/** POSTs a Slack-compatible `{ text }` body; retried on network errors and 5xx. */
export async function postWebhook(
  url: string,
  body: { text: string },
  timeoutMs: number,
  retries: number,
  clock: Clock,
): Promise<{ ok: boolean; detail: string }> {
  let detail = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      const res = await fetchText(url, timeoutMs, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        statusOnly: true,
      });
      if (res.ok) return { ok: true, detail: `webhook answered HTTP ${res.status} (attempt ${attempt + 1})` };
      detail = `webhook answered HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) break;
    } catch (e) {
      const f = describeFetchFailure(e, timeoutMs);
      detail = f.timedOut ? `webhook did not answer within ${timeoutMs} ms` : `webhook unreachable: ${f.reason}`;
    }
    if (attempt < retries) await clock.sleep(500 * 2 ** attempt);
  }
  return { ok: false, detail: `announcement failed: ${detail} after ${retries + 1} attempt(s)` };
}
