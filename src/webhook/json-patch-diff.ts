// The JSON patch from the object as received to the mutated one, for an answer serialised at once. Produces the
// operations fast-json-patch's `compare` produces (test/unit/json-patch-diff.test.ts holds it to that), without its
// deep copy of every added or replaced value: the patch is turned into text immediately, so a copy buys nothing,
// and for a sandbox Pod those copies were most of the diff's cost.

export type PatchOperation =
  | { op: 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

type Container = Record<string, unknown> | unknown[];

function pathSegment(key: string): string {
  return key.includes('/') || key.includes('~') ? key.replace(/~/g, '~0').replace(/\//g, '~1') : key;
}

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/** As JSON.stringify writes an array element that is undefined. */
function jsonValue(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** `before[key]` against `after[key]`, both present: descend into containers of one kind, else replace if different. */
function diffValue(oldValue: unknown, newValue: unknown, path: string, operations: PatchOperation[]): void {
  if (isContainer(oldValue) && isContainer(newValue) && Array.isArray(oldValue) === Array.isArray(newValue)) {
    diffInto(oldValue, newValue, path, operations);
  } else if (oldValue !== newValue) {
    operations.push({ op: 'replace', path, value: jsonValue(newValue) });
  }
}

function diffArrays(before: unknown[], after: unknown[], path: string, operations: PatchOperation[]): void {
  // From the last index down, so that removing elements never shifts the indices still to be visited.
  for (let index = before.length - 1; index >= 0; index -= 1) {
    if (index < after.length) {
      if (before[index] !== after[index]) diffValue(before[index], after[index], `${path}/${index}`, operations);
    } else operations.push({ op: 'remove', path: `${path}/${index}` });
  }
  for (let index = before.length; index < after.length; index += 1) {
    if (after[index] !== undefined) operations.push({ op: 'add', path: `${path}/${index}`, value: after[index] });
  }
}

function diffRecords(before: Record<string, unknown>, after: Record<string, unknown>, path: string, operations: PatchOperation[]): void {
  const beforeKeys = Object.keys(before);
  let removed = false;
  for (let index = beforeKeys.length - 1; index >= 0; index -= 1) {
    const key = beforeKeys[index] as string;
    const oldValue = before[key];
    const newValue = after[key];
    // A key set to undefined is absent from JSON: removed, unless it was undefined already.
    if (Object.hasOwn(after, key) && !(newValue === undefined && oldValue !== undefined)) {
      // Identical values (most of them: planPod shares what it leaves alone) need no path built.
      if (oldValue !== newValue) diffValue(oldValue, newValue, `${path}/${pathSegment(key)}`, operations);
    } else {
      operations.push({ op: 'remove', path: `${path}/${pathSegment(key)}` });
      removed = true;
    }
  }
  const afterKeys = Object.keys(after);
  if (!removed && afterKeys.length === beforeKeys.length) return;
  for (const key of afterKeys) {
    if (!Object.hasOwn(before, key) && after[key] !== undefined) operations.push({ op: 'add', path: `${path}/${pathSegment(key)}`, value: after[key] });
  }
}

function diffInto(before: Container, after: Container, path: string, operations: PatchOperation[]): void {
  if (before === after) return; // shared with the input: unchanged by construction
  if (Array.isArray(before) && Array.isArray(after)) diffArrays(before, after, path, operations);
  else if (!Array.isArray(before) && !Array.isArray(after)) diffRecords(before, after, path, operations);
  else operations.push({ op: 'replace', path, value: after });
}

/**
 * The operations that turn `before` into `after`. Subtrees `after` shares with `before` by reference are skipped
 * unvisited; values in the operations are `after`'s own, so change neither object until the patch is serialised.
 */
export function jsonPatchDiff(before: object, after: object): PatchOperation[] {
  const operations: PatchOperation[] = [];
  diffInto(before as Container, after as Container, '', operations);
  return operations;
}
