// The repeat check of the Event recorder: once per interval per key, bounded, pruned from the oldest.
import { describe, expect, it } from 'vitest';
import { recentEvents } from '../../src/kube/recent-events.ts';

describe('recent events', () => {
  it('lets a key through once per interval, and again once the interval has passed', () => {
    const recent = recentEvents(1_000, 100);
    expect(recent.claim('a', 0)).toBe(true);
    expect(recent.claim('a', 999)).toBe(false);
    expect(recent.claim('b', 999)).toBe(true);
    expect(recent.claim('a', 1_000)).toBe(true);
    expect(recent.claim('a', 1_500)).toBe(false);
  });

  it('a forgotten key (its write failed) goes through at once', () => {
    const recent = recentEvents(1_000, 100);
    recent.claim('a', 0);
    recent.forget('a');
    expect(recent.claim('a', 1)).toBe(true);
  });

  it('drops what has expired as time goes on, also keys never seen again', () => {
    const recent = recentEvents(1_000, 100);
    for (let index = 0; index < 50; index += 1) recent.claim(`old-${index}`, index);
    expect(recent.size).toBe(50);
    recent.claim('new', 1_060);
    // Every key claimed before 60 has expired; only 'new' is left.
    expect(recent.size).toBe(1);
    expect(recent.claim('old-10', 1_061)).toBe(true);
  });

  it('a key claimed again counts from then on: it outlives keys claimed after its first time', () => {
    const recent = recentEvents(1_000, 100);
    recent.claim('a', 0);
    recent.claim('b', 500);
    recent.claim('a', 1_000); // expired at 1_000: claimed anew
    recent.claim('c', 1_600); // b (500) has expired, a (1_000) has not
    expect(recent.claim('a', 1_700)).toBe(false);
    expect(recent.claim('b', 1_700)).toBe(true);
  });

  it('keeps at most its capacity when more keys than that come within one interval, dropping the oldest', () => {
    const recent = recentEvents(60_000, 1_000);
    for (let index = 0; index < 20_000; index += 1) recent.claim(`key-${index}`, index);
    expect(recent.size).toBe(1_000);
    expect(recent.claim('key-19999', 20_000)).toBe(false);
    expect(recent.claim('key-0', 20_000)).toBe(true);
  });
});
