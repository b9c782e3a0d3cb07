/** The longest delay a Node timer holds (2^31−1 ms, about 24.8 days): a longer one fires after 1 ms. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/** Time as the core sees it: real in a release, stepped in tests. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};
