// The webhook's own diff must answer exactly what fast-json-patch's compare answers, over any JSON and any change,
// including the shapes the planning core makes (unchanged subtrees shared by reference with the input).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import jsonPatch from 'fast-json-patch';
import { jsonPatchDiff } from '../../src/webhook/json-patch-diff.ts';

const keys = fc.constantFrom('a', 'b', 'name', 'a/b', 'x~y', '~', '/', '0', '1', 'spec');
const json = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 4 }), fc.integer({ min: -3, max: 3 }), fc.boolean(), fc.constant(null)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keys, tie('value'), { maxKeys: 4 }),
  ),
}));

/**
 * A changed copy of `value` that shares what it does not change, as the planning core makes it: each container is
 * either shared, or copied with some keys removed, replaced by new JSON, or changed further down.
 */
function changedCopy(value: unknown, choices: number[], at = { index: 0 }): unknown {
  const next = () => choices[at.index++ % choices.length] ?? 0;
  if (typeof value !== 'object' || value === null) return next() % 3 === 0 ? `changed-${next()}` : value;
  if (next() % 4 === 0) return value; // shared by reference
  if (Array.isArray(value)) {
    const copy = value.map((item) => changedCopy(item, choices, at));
    if (next() % 3 === 0) copy.pop();
    if (next() % 3 === 0) copy.push({ added: next() });
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const choice = next() % 5;
    if (choice === 0) continue; // removed
    copy[key] = choice === 1 ? [next()] : changedCopy(item, choices, at);
  }
  if (next() % 3 === 0) copy[`new/${next()}`] = { added: [next(), { deep: true }] };
  return copy;
}

const asText = (operations: unknown) => JSON.stringify(operations);

describe('jsonPatchDiff', () => {
  it('answers the operations fast-json-patch compare answers, for any JSON object and any change', () => {
    fc.assert(
      fc.property(fc.dictionary(keys, json.value, { maxKeys: 5 }), fc.array(fc.nat(20), { minLength: 1, maxLength: 40 }), (before, choices) => {
        const after = changedCopy(before, choices) as object;
        const beforeText = JSON.stringify(before);
        const ours = jsonPatchDiff(before, after);
        expect(asText(ours)).toBe(asText(jsonPatch.compare(before, after)));
        // Applied to the input, it gives the mutated object; and diffing changed neither.
        const applied = jsonPatch.applyPatch(structuredClone(before), structuredClone(ours) as jsonPatch.Operation[], true, false).newDocument;
        expect(applied).toEqual(JSON.parse(JSON.stringify(after)));
        expect(JSON.stringify(before)).toBe(beforeText);
      }),
      { numRuns: 2_000 },
    );
  });

  it('skips shared subtrees and escapes "~" and "/" in keys', () => {
    const shared = { big: Array.from({ length: 100 }, (_, index) => ({ index })) };
    const before = { spec: shared, metadata: { annotations: { 'a/b~c': 'old' } } };
    const after = { spec: shared, metadata: { annotations: { 'a/b~c': 'new', 'sandbox-storage.io/policy': 'default' } } };
    expect(jsonPatchDiff(before, after)).toEqual([
      { op: 'replace', path: '/metadata/annotations/a~1b~0c', value: 'new' },
      { op: 'add', path: '/metadata/annotations/sandbox-storage.io~1policy', value: 'default' },
    ]);
  });

  it('replaces an array element that became undefined with null, as JSON does', () => {
    expect(asText(jsonPatchDiff({ list: [1, 2] }, { list: [1, undefined] }))).toBe(asText(jsonPatch.compare({ list: [1, 2] }, { list: [1, undefined] })));
  });
});
