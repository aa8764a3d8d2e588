// A plan file is a file someone may have edited: before anything is copied, each item's key and target are
// recomputed from its source and the target policy as it is now, so no edit can point a copy elsewhere.
import type { Policy } from '../policy/types.ts';
import type { MigrationPlan } from './plan-file.ts';
import { itemKey } from './plan.ts';
import { targetFor } from './target.ts';

export function recheckPlan(plan: MigrationPlan, target: Policy): string[] {
  const errors: string[] = [];
  if (target.name !== plan.spec.target.policy) errors.push(`spec.target.policy: the plan is for ${plan.spec.target.policy}, not ${target.name}`);
  for (const [index, item] of plan.items.entries()) {
    if (item.key !== itemKey(item.source)) errors.push(`items[${index}].key: does not belong to its source ${item.source.claim}:${item.source.path}`);
    if (item.conflicts.length > 0 || !item.target) continue;
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
