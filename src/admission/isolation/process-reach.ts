// What a debug or exec session reaches besides its own mounts: the files of other containers, through
// /proc/PID/root — its target container, the container it execs into, or every container when the Pod shares one
// process namespace. The requester must be entitled to every governed mount of what it reaches.
import type { GovernedVolume } from './governed-volumes.ts';
import { mountScopeDenials, type ScopeContext } from './mount-scope.ts';
import { isObject, list } from '../../plain-json.ts';

function regularContainers(spec: Record<string, unknown>): Record<string, unknown>[] {
  return [...list(spec.initContainers), ...list(spec.containers)].filter(isObject);
}

/**
 * Containers an ephemeral container can read: its `targetContainerName`, or all with shareProcessNamespace, the
 * ephemeral containers already in the Pod included (they run, and mount volumes, like any other).
 */
export function reachedByDebug(spec: Record<string, unknown>, ephemeral: Record<string, unknown>): Record<string, unknown>[] {
  const others = [...regularContainers(spec), ...list(spec.ephemeralContainers).filter(isObject)].filter((other) => other !== ephemeral);
  if (spec.shareProcessNamespace === true) return others;
  const target = typeof ephemeral.targetContainerName === 'string' ? ephemeral.targetContainerName : '';
  return target === '' ? [] : others.filter((other) => other.name === target);
}

/** Containers an exec/attach session can read: the named one (ephemeral ones included), or all when unnamed. */
export function reachedByConnect(spec: Record<string, unknown>, container: string | undefined): Record<string, unknown>[] {
  const all = [...regularContainers(spec), ...list(spec.ephemeralContainers).filter(isObject)];
  if (spec.shareProcessNamespace === true || container === undefined) return all;
  return all.filter((candidate) => candidate.name === container);
}

/** The storage-scope problems of the reached containers' mounts, each phrased by `describe`. */
export function reachDenials(
  reached: readonly Record<string, unknown>[],
  governed: ReadonlyMap<string, GovernedVolume>,
  context: ScopeContext,
  describe: (problem: string) => string,
): string[] {
  return mountScopeDenials(
    reached.map((container) => ({ role: 'container', container })),
    governed,
    context,
  ).map(describe);
}
