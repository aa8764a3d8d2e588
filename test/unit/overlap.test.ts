import { describe, expect, it } from 'vitest';
import { selectorsCanOverlap } from '../../src/policy/overlap.ts';

describe('selectorsCanOverlap', () => {
  it.each([
    [{}, {}, true],
    [{ matchLabels: { a: '1' } }, { matchLabels: { a: '1', b: '2' } }, true],
    [{ matchLabels: { a: '1' } }, { matchLabels: { a: '2' } }, false],
    [{ matchLabels: { a: '1' } }, { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, false],
    [{ matchLabels: { a: '1' } }, { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['2'] }] }, true],
    [{ matchLabels: { a: '1' } }, { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { matchExpressions: [{ key: 'a', operator: 'In', values: ['2', '3'] }] }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] }, { matchExpressions: [{ key: 'a', operator: 'In', values: ['3'] }] }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, true],
  ] as const)('%j and %j: %s', (a, b, expected) => {
    expect(selectorsCanOverlap(a as never, b as never)).toBe(expected);
    expect(selectorsCanOverlap(b as never, a as never)).toBe(expected);
  });
});
