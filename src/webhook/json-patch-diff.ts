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

function keysOf(value: Container): string[] {
  return Array.isArray(value) ? Array.from({ length: value.length }, (_, index) => String(index)) : Object.keys(value);
}

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/** As JSON.stringify writes an array element that is undefined. */
function jsonValue(value: unknown): unknown {
  return value === undefined ? null : value;
}

function diffInto(before: Container, after: Container, path: string, operations: PatchOperation[]): void {
  if (before === after) return; // shared with the input: unchanged by construction
  const beforeIsArray = Array.isArray(before);
  const afterIsArray = Array.isArray(after);
  const beforeKeys = keysOf(before);
  const afterKeys = keysOf(after);
  const beforeRecord = before as Record<string, unknown>;
  const afterRecord = after as Record<string, unknown>;
  let removed = false;
  // From the last key down, so that removing array elements never shifts the indices still to be visited.
  for (let index = beforeKeys.length - 1; index >= 0; index -= 1) {
    const key = beforeKeys[index] as string;
    const oldValue = beforeRecord[key];
    const kept = Object.hasOwn(after, key) && !(afterRecord[key] === undefined && oldValue !== undefined && !afterIsArray);
    if (kept) {
      const newValue = afterRecord[key];
      if (isContainer(oldValue) && isContainer(newValue) && Array.isArray(oldValue) === Array.isArray(newValue)) {
        diffInto(oldValue, newValue, `${path}/${pathSegment(key)}`, operations);
      } else if (oldValue !== newValue) {
        operations.push({ op: 'replace', path: `${path}/${pathSegment(key)}`, value: jsonValue(newValue) });
      }
    } else if (beforeIsArray === afterIsArray) {
      operations.push({ op: 'remove', path: `${path}/${pathSegment(key)}` });
      removed = true;
    } else {
      operations.push({ op: 'replace', path, value: after });
    }
  }
  if (!removed && afterKeys.length === beforeKeys.length) return;
  for (const key of afterKeys) {
    if (!Object.hasOwn(before, key) && afterRecord[key] !== undefined) {
      operations.push({ op: 'add', path: `${path}/${pathSegment(key)}`, value: afterRecord[key] });
    }
  }
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
