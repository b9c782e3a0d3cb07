/**
 * The one polling wait of the tests (Node layers and the extension host alike): calls `cond` every
 * `step` ms (awaiting it when it is async) until it returns a truthy value or `ms` have passed, and resolves with that value, or with
 * `false` after one last look at the deadline.
 */
export async function waitFor<T>(cond: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 5000, step = 25): Promise<T | false> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await cond();
    if (v) return v;
    await new Promise((r) => setTimeout(r, step));
  }
  return (await cond()) || false;
}
