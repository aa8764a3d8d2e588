// The table that makes cached watch objects share their recurring texts and parts: values never change, shared
// parts are frozen, hostile keys stay data, and the tables stay bounded.
import { describe, expect, it } from 'vitest';
import { SharedStrings } from '../../src/kube/shared-strings.ts';

const mounts = () => [{ name: 'sandbox-storage-workspace', mountPath: '/sandbox', subPath: '.sandbox-storage-home' }];

describe('SharedStrings.share', () => {
  it('gives equal parts of different objects one frozen copy, and keeps the values', () => {
    const shared = new SharedStrings();
    const first = shared.share({ name: 'a', containers: [{ name: 'sandbox', volumeMounts: mounts() }] });
    const second = shared.share({ name: 'b', containers: [{ name: 'sandbox', volumeMounts: mounts() }] });
    expect(second).toEqual({ name: 'b', containers: [{ name: 'sandbox', volumeMounts: mounts() }] });
    expect(second.containers).toBe(first.containers);
    expect(Object.isFrozen(second.containers[0]!.volumeMounts[0])).toBe(true);
    expect(second).not.toBe(first);
  });

  it('makes a change through one object throw instead of changing the others', () => {
    const shared = new SharedStrings();
    const first = shared.share({ spec: { accessModes: ['ReadWriteOnce'] } });
    const second = shared.share({ spec: { accessModes: ['ReadWriteOnce'] } });
    expect(() => second.spec.accessModes.push('ReadWriteMany')).toThrow(TypeError);
    expect(first.spec.accessModes).toEqual(['ReadWriteOnce']);
  });

  it('does not merge parts that differ only in kind of value: a Date, a string, a number', () => {
    const shared = new SharedStrings();
    const when = new Date('2026-12-01T10:00:00Z');
    const withDate = shared.share({ at: when });
    const withText = shared.share({ at: '2026-12-01T10:00:00.000Z' });
    expect(withDate.at).toBe(when);
    expect(withText.at).toBe('2026-12-01T10:00:00.000Z');
    expect(shared.share({ size: '1' }).size).toBe('1');
    expect(shared.share({ size: 1 }).size).toBe(1);
    expect(Object.isFrozen(withDate)).toBe(false);
  });

  it('keeps a "__proto__" key as an own data field, never as the prototype', () => {
    const shared = new SharedStrings();
    const hostile = JSON.parse('{"labels":{"__proto__":{"polluted":"yes"},"app":"x"}}') as { labels: Record<string, unknown> };
    const copy = shared.share(hostile);
    expect(Object.getPrototypeOf(copy.labels)).toBe(Object.prototype);
    expect(Object.keys(copy.labels)).toEqual(['__proto__', 'app']);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(hostile));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stays right past the capacity of its tables, which start over instead of growing', () => {
    const shared = new SharedStrings(4, 4);
    const seen = Array.from({ length: 50 }, (_, index) => shared.share({ claimName: `claim-${index}`, mode: ['ReadWriteOnce'] }));
    seen.forEach((part, index) => expect(part).toEqual({ claimName: `claim-${index}`, mode: ['ReadWriteOnce'] }));
    expect(shared.share({ mode: ['ReadWriteOnce'] }).mode).toEqual(['ReadWriteOnce']);
  });
});
