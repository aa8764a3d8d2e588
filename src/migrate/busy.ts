// Who would write to an identity's data while it is copied: its sandbox Pods under the target policy's labels, and
// any Pod that mounts a claim only this identity's data comes from. `migrate run` refuses to start while one runs.
// A sandbox Pod of the target policy still behind the storage gate is not in the way: the run holds its identity
// (src/policy/migration-hold.ts) before it looks, so the controller keeps that Pod gated until the identity is done.
import { migrationPlanLabel } from '../labels.ts';
import { policyNeedsThread } from '../admission/identity.ts';
import type { Policy } from '../policy/types.ts';
import type { PlanItem } from './plan.ts';

export interface PodInUse {
  name: string;
  labels: Record<string, string>;
  claims: string[];
  /** The policy it was admitted under. */
  policy?: string;
  /** Behind the storage gate. */
  gated?: boolean;
}

/** Per item key, the Pods in the way (none: the key is absent). */
export function podsInTheWay(items: readonly PlanItem[], pods: readonly PodInUse[], target: Policy): Map<string, string[]> {
  const { userLabel, threadLabel } = target.spec.identity;
  const byThread = policyNeedsThread(target);
  const itemsPerClaim = new Map<string, number>();
  for (const item of items) itemsPerClaim.set(item.source.claim, (itemsPerClaim.get(item.source.claim) ?? 0) + 1);
  const found = new Map<string, string[]>();
  for (const item of items) {
    if (item.conflicts.length > 0 || item.user === undefined) continue;
    const blocking = pods
      .filter((pod) => !Object.hasOwn(pod.labels, migrationPlanLabel))
      .filter((pod) => !(pod.gated === true && pod.policy === target.name))
      .filter((pod) => {
        const sameIdentity = pod.labels[userLabel] === item.user && (!byThread || pod.labels[threadLabel] === item.thread);
        const ownSource = itemsPerClaim.get(item.source.claim) === 1 && pod.claims.includes(item.source.claim);
        return sameIdentity || ownSource;
      })
      .map((pod) => pod.name);
    if (blocking.length > 0) found.set(item.key, blocking);
  }
  return found;
}
