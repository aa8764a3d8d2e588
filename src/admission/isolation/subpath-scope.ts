// SubPath normalisation and containment: what directory of a volume a mount really reaches.

export interface NormalisedSubPath {
  /** The directory relative to the volume root, '' for the root itself; undefined when the path is unusable. */
  path?: string;
  problem?: string;
}

/**
 * Resolves '.', '..', empty segments and a leading '/' the way a path lookup would, so that `a/./b`, `/a/b`,
 * `a//b/` and `a/x/../b` are all recognised as `a/b`. A path that climbs above the root is refused outright.
 */
export function normaliseSubPath(subPath: string): NormalisedSubPath {
  if (subPath.includes('\0')) return { problem: 'contains a NUL character' };
  const stack: string[] = [];
  for (const segment of subPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (stack.length === 0) return { problem: 'climbs above the volume root' };
      stack.pop();
    } else {
      stack.push(segment);
    }
  }
  return { path: stack.join('/') };
}

/** True when `path` is `scope` itself or lies below it (both normalised, relative). */
export function isWithin(path: string, scope: string): boolean {
  if (scope === '') return true;
  return path === scope || path.startsWith(`${scope}/`);
}
