import type { Clock } from '../base/clock';

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
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.text().catch(() => '');
      if (res.ok) return { ok: true, detail: `webhook answered HTTP ${res.status} (attempt ${attempt + 1})` };
      detail = `webhook answered HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) break;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      detail = err.name === 'TimeoutError' ? `webhook did not answer within ${timeoutMs} ms` : `webhook unreachable: ${err.cause?.code ?? err.message}`;
    }
    if (attempt < retries) await clock.sleep(500 * 2 ** attempt);
  }
  return { ok: false, detail: `announcement failed: ${detail} after ${retries + 1} attempt(s)` };
}
