// Polling waits for integration tests (real peers, real time): a condition, or a value to appear.

/** Polls until `check` returns true (or throws after timeoutMs with `what`). */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Polls `fn` every intervalMs until it returns a truthy value and resolves with it. A throw from
 * `fn` counts as "not yet" (e.g. a file still being written); the last one is named on timeout.
 */
export async function waitForValue<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = fn();
      if (v) return v;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
