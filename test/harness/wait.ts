// Polls an asynchronous condition until it yields a value, with a deadline and an error message that says
// what was awaited and why the last attempt failed. Tests synchronise on observable state, never on sleeps.
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** What is awaited, in words; it heads the timeout error. */
  description: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Aborting stops the wait at once and rejects with the signal's reason (e.g. a process died). */
  signal?: AbortSignal;
}

/**
 * Calls `condition` until it returns something other than `undefined`, `null` or `false`, and returns that.
 * A throwing condition counts as "not yet"; its error is reported if the deadline passes.
 */
export async function waitFor<T>(
  condition: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { description, timeoutMs = 60_000, intervalMs = 100, signal }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    signal?.throwIfAborted();
    attempts += 1;
    try {
      const result = await condition();
      if (result !== undefined && result !== null && result !== false) return result;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    signal?.throwIfAborted();
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      const cause = lastError === undefined ? 'condition not met' : `last error: ${describeError(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${description}; ${cause}`, {
        cause: lastError,
      });
    }
    try {
      await delay(Math.min(intervalMs, remainingMs), undefined, signal ? { signal } : undefined);
    } catch {
      signal?.throwIfAborted();
    }
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
