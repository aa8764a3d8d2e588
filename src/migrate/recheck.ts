// A plan file is a file someone may have edited: before anything is copied, each item's key and target are
// recomputed from its source and the target policy as it is now, so no edit can point a copy elsewhere.
import type { Policy } from '../policy/types.ts';
import { matchLayout, type LayoutIds } from './layout-template.ts';
import type { MigrationPlan } from './plan-file.ts';
import { itemKey } from './plan.ts';
import { resolveSource, sourcePathIds } from './source.ts';
import { targetFor } from './target.ts';

/** The ids the source layout itself gives a source location; undefined when the location is not in the layout. */
function layoutIds(plan: MigrationPlan, sourcePolicy: Policy | undefined, location: { claim: string; path: string }): LayoutIds | undefined {
  const { resolved } = resolveSource(plan.spec.source, sourcePolicy);
  if (!resolved) return undefined;
  const fromPath = sourcePathIds(resolved, location.path);
  if (!fromPath) return undefined;
  if ('fixed' in resolved.claims) return resolved.claims.fixed === location.claim ? fromPath : undefined;
  if ('pattern' in resolved.claims) {
    const fromClaim = matchLayout(resolved.claims.pattern, location.claim);
    return fromClaim ? { ...fromClaim, ...fromPath } : undefined;
  }
  // A workspace policy's claims carry their ids in labels (checked with their proof when planned).
  return fromPath;
}

/**
 * `sourcePolicy` is the plan's source policy as the cluster has it now, for a policy source. A mapped user (from
 * the mapping file, which the plan does not carry) and a workspace source's ids are taken from the plan.
 */
export function recheckPlan(plan: MigrationPlan, target: Policy, sourcePolicy?: Policy): string[] {
  const errors: string[] = [];
  if (target.name !== plan.spec.target.policy) errors.push(`spec.target.policy: the plan is for ${plan.spec.target.policy}, not ${target.name}`);
  for (const [index, item] of plan.items.entries()) {
    if (item.key !== itemKey(item.source)) errors.push(`items[${index}].key: does not belong to its source ${item.source.claim}:${item.source.path}`);
    if (item.conflicts.length > 0 || !item.target) continue;
    const fromLayout = layoutIds(plan, sourcePolicy, item.source);
    if (!fromLayout) {
      errors.push(`items[${index}].source: ${item.source.claim}:${item.source.path} is not in the plan's source layout`);
      continue;
    }
    if (fromLayout.user !== undefined && fromLayout.user !== item.user) errors.push(`items[${index}].user: the source layout says ${JSON.stringify(fromLayout.user)}, not ${JSON.stringify(item.user)}`);
    if (fromLayout.thread !== undefined && item.thread !== undefined && fromLayout.thread !== item.thread) {
      errors.push(`items[${index}].thread: the source layout says ${JSON.stringify(fromLayout.thread)}, not ${JSON.stringify(item.thread)}`);
    }
    if (item.user === undefined) {
      errors.push(`items[${index}].user: Required value: an item without conflicts has a user`);
      continue;
    }
    const ids = item.thread === undefined ? { user: item.user } : { user: item.user, thread: item.thread };
    const { target: expected, problems } = targetFor(target, plan.spec.namespace, plan.spec.target.mount, ids);
    if (!expected) errors.push(`items[${index}]: identity not valid under policy ${target.name}: ${problems.join('; ')}`);
    else if (expected.claim !== item.target.claim || expected.path !== item.target.path) {
      errors.push(`items[${index}].target: ${item.target.claim}:${item.target.path} is not where policy ${target.name} mounts this identity (${expected.claim}:${expected.path})`);
    }
  }
  return errors;
}
