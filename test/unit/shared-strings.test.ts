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

describe('SharedStrings.share with hostile values', () => {
  it('does not share or keep a large part: a tenant\'s 100 KB annotation costs no key in the table', () => {
    const shared = new SharedStrings();
    const big = 'x'.repeat(100_000);
    const first = shared.share({ annotations: { note: big }, spec: { accessModes: ['ReadWriteOnce'] } });
    const second = shared.share({ annotations: { note: big }, spec: { accessModes: ['ReadWriteOnce'] } });
    expect(second.annotations).toEqual({ note: big });
    expect(second.annotations).not.toBe(first.annotations);
    expect(Object.isFrozen(second.annotations)).toBe(false);
    // The small part next to it is still shared.
    expect(second.spec).toBe(first.spec);
    const keys = [...(shared as unknown as { parts: Map<string, object> }).parts.keys()];
    expect(Math.max(...keys.map((key) => key.length))).toBeLessThan(4096);
  });

  it('shares only parts whose JSON is equal, for every kind of value', () => {
    const shared = new SharedStrings();
    const values: unknown[] = [{ a: '1' }, { a: 1 }, { a: [1] }, { a: ['1'] }, { a: null }, { a: false }, { a: 'false' }, { a: '"' }, { '"a': 1 }, { a: { b: 1 } }, [{ a: 1 }], ['a,b'], ['a', 'b']];
    const copies = values.map((value) => shared.share(value));
    const again = values.map((value) => shared.share(structuredClone(value)));
    copies.forEach((copy, index) => {
      expect(copy).toEqual(values[index]);
      expect(again[index]).toBe(copy);
      for (let other = 0; other < copies.length; other += 1) if (other !== index) expect(copies[other]).not.toBe(copy);
    });
  });

  // Pods and PVCs are typed: the API server drops unknown fields, so nesting is bounded by their schema.
  it('copies a nested value past the size limit, sharing only its small inner parts', () => {
    const shared = new SharedStrings();
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let level = 0; level < 300; level += 1) deep = { level: deep };
    const copy = shared.share(deep);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(deep));
    expect(Object.isFrozen(copy)).toBe(false);
  });
});
