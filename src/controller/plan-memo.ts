// The claims of a sandbox Pod, planned once per Pod version that could plan differently. Each Pod is planned on
// its watch events and again by every reconcile of its PVC key (two or three times per new Pod); planning hashes
// the identity and builds the layout, a few percent of the controller's CPU under a burst of Pods.
import type { V1Pod } from '@kubernetes/client-node';
import type { Policy } from '../policy/types.ts';
import { ownershipLabels } from '../labels.ts';
import { plannedClaims, podKey, type PodClaims } from './pod-claims.ts';

interface Entry {
  uid: string | undefined;
  policies: readonly Policy[];
  policyName: string | undefined;
  labels: Readonly<Record<string, string>>;
  claims: PodClaims;
}

/**
 * Planning reads the Pod's labels, the policy annotation, its namespace and name, and its containers and volumes;
 * of those, the API server lets only labels and annotations change on a Pod (a new uid is a new Pod). So a plan
 * is reused while the uid, the policy set (the same array: a reload swaps it), the policy annotation and every
 * label are the same. Bounded like the shared strings: emptied when full, so it costs at most a few MB and a
 * miss only plans again.
 */
export class PlanMemo {
  private readonly entries = new Map<string, Entry>();
  private readonly capacity: number;

  constructor(capacity = 2_048) {
    this.capacity = capacity;
  }

  plan(pod: V1Pod, policies: readonly Policy[]): PodClaims {
    const key = podKey(pod);
    const uid = pod.metadata?.uid;
    const policyName = pod.metadata?.annotations?.[ownershipLabels.policy];
    const labels = pod.metadata?.labels ?? {};
    const known = this.entries.get(key);
    if (known && known.uid === uid && known.policies === policies && known.policyName === policyName && sameLabels(known.labels, labels)) {
      return known.claims;
    }
    const claims = plannedClaims(pod, policies);
    if (this.entries.size >= this.capacity) this.entries.clear();
    this.entries.set(key, { uid, policies, policyName, labels, claims });
    return claims;
  }

  forget(pod: V1Pod): void {
    this.entries.delete(podKey(pod));
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
