// Tests that only apply where a condition holds (a shell's own code path): elsewhere they are not defined at all,
// so that a run's skipped count only shows tests that could not run.
import { it } from 'vitest';

/** `it` where `applies`, else a no-op that defines nothing. */
export function itWhere(applies: boolean): typeof it {
  return applies ? it : ((() => undefined) as unknown as typeof it);
}
