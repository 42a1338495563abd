/**
 * Polls until fn returns something other than undefined, or fails naming what it waited for.
 * For tests that watch another process or thread reach a state (no fixed sleeps).
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 20_000, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
