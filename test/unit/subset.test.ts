import { describe, expect, it } from 'vitest';
import { containsAll } from '../../src/admission/subset.ts';

describe('containsAll', () => {
  it.each([
    [{ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } }, true],
    [{ a: 1 }, { a: 2 }, false],
    [{ a: 1 }, { b: undefined }, true],
    [{ mounts: [{ name: 'x', path: '/x' }, { name: 'token' }] }, { mounts: [{ name: 'x' }] }, true],
    [{ mounts: [{ name: 'token' }] }, { mounts: [{ name: 'x' }] }, false],
    [{ command: ['sh', '-c', 'x'] }, { command: ['sh', '-c', 'x'] }, true],
    [{ command: ['sh', '-c', 'x', 'y'] }, { command: ['sh', '-c', 'x'] }, false],
    [{ command: ['-c', 'sh', 'x'] }, { command: ['sh', '-c', 'x'] }, false],
    [{ a: [1] }, { a: 1 }, false],
    [{ a: null }, { a: {} }, false],
  ])('%j contains %j: %s', (actual, desired, expected) => {
    expect(containsAll(actual, desired)).toBe(expected);
  });
});
