/** The longest delay a Node timer holds (2^31−1 ms, about 24.8 days): a longer one fires after 1 ms. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/**
 * Time as the core sees it: real in a release, stepped in tests. Every wait takes the run's
 * interrupt (a stop or a rollback request ends it at once): the signal is not optional, so no wait
 * can be written that a rollback request would have to sit out.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Waits `ms`, or less: it ends as soon as `signal` aborts (at once when it already has). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, Math.min(Math.max(0, ms || 0), TIMER_MAX_MS));
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Ends with `p`, or when `signal` aborts (then undefined): a wait on something else that an interrupt cuts short. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const done = () => resolve(undefined);
    signal.addEventListener('abort', done, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', done);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', done);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export const realClock: Clock = { now: () => Date.now(), sleep };
