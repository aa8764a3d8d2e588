import { isObject } from '../plain-json.ts';
// "Already has what we would set": the API server defaults fields of injected objects (e.g. an init container's
// terminationMessagePath) and in-tree plugins add to them on reinvocation (the service account token mount), so our
// own earlier output comes back as a superset of what we wrote, not equal to it.

/**
 * True when every field of `desired` is present in `actual` with the same value (recursively). Lists of objects
 * (mounts, env) may hold extra items added by others; lists of scalars (command, accessModes) must match exactly.
 */
export function containsAll(actual: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual)) return false;
    if (desired.some(isObject)) return desired.every((item) => actual.some((candidate) => containsAll(candidate, item)));
    return actual.length === desired.length && desired.every((item, index) => Object.is(actual[index], item));
  }
  if (isObject(desired)) {
    return isObject(actual) && Object.entries(desired).every(([key, value]) => containsAll(actual[key], value));
  }
  return Object.is(actual, desired);
}
