/** An HTTP answer read whole: status and body text. */
export interface FetchedText {
  status: number;
  ok: boolean;
  text: string;
}

/**
 * One request with a deadline for the whole exchange (headers and body): every HTTP read or post
 * of the core (metric sources, checks, the verdict URL, the webhook) goes through here.
 */
export async function fetchText(
  url: string,
  timeoutMs: number,
  init: { method?: string; headers?: Record<string, string>; body?: string; redirect?: RequestRedirect; statusOnly?: boolean; signal?: AbortSignal } = {},
): Promise<FetchedText> {
  const { statusOnly, signal, ...request } = init;
  // A run's interrupt (a stop, a rollback request) ends the exchange as its deadline does.
  const deadline = AbortSignal.timeout(timeoutMs);
  const res = await fetch(url, { ...request, signal: signal ? AbortSignal.any([deadline, signal]) : deadline });
  // Where only the status counts (a webhook that took the post), a body cut short is no failure: a retry would post twice.
  const text = statusOnly ? await res.text().catch(() => '') : await res.text();
  return { status: res.status, ok: res.ok, text };
}

/** Why a request got no answer, in the two forms outputs use: a short reason and a detail. */
export interface FetchFailure {
  timedOut: boolean;
  /** `ECONNREFUSED`, or the error's message when the network layer gave no code. */
  reason: string;
  /** `no answer within N ms`, `ECONNREFUSED (fetch failed)`, or the message with its cause. */
  detail: string;
}

export function describeFetchFailure(e: unknown, timeoutMs: number): FetchFailure {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError';
  const reason = err.cause?.code ?? err.message;
  if (timedOut) return { timedOut, reason, detail: `no answer within ${timeoutMs} ms` };
  if (err.cause?.code) return { timedOut, reason, detail: `${err.cause.code} (${err.message})` };
  return { timedOut, reason, detail: err.cause?.message ? `${err.message}: ${err.cause.message}` : err.message };
}
