// Which Events were recorded lately, so that the same one is written at most once per interval. Insertion order is
// time order (a key seen again moves to the end), so expired keys are pruned from the front: each record costs
// O(1) however many Events the interval holds, and at most `capacity` are kept (the oldest go first).

export interface RecentEvents {
  /** True when `key` was not recorded within the interval before `now`; then it counts as recorded at `now`. */
  claim(key: string, now: number): boolean;
  /** Forgets `key`, e.g. after its write failed, so that the next attempt is recorded. */
  forget(key: string): void;
  readonly size: number;
}

export function recentEvents(intervalMs: number, capacity: number): RecentEvents {
  const recordedAt = new Map<string, number>();
  return {
    claim(key, now) {
      const last = recordedAt.get(key);
      if (last !== undefined && last > now - intervalMs) return false;
      recordedAt.delete(key);
      recordedAt.set(key, now);
      for (const [oldest, at] of recordedAt) {
        if (at > now - intervalMs && recordedAt.size <= capacity) break;
        recordedAt.delete(oldest);
      }
      return true;
    },
    forget(key) {
      recordedAt.delete(key);
    },
    get size() {
      return recordedAt.size;
    },
  };
}
