// Which PVCs an admitted sandbox Pod needs: the webhook's storage plan (planStorage), for the policy the webhook
// recorded on the Pod, so names and hints are never derived twice.
import type { V1Pod } from '@kubernetes/client-node';
import { planStorage } from '../admission/plan-storage.ts';
import { hasStorageGate } from '../admission/scheduling-gate.ts';
import type { ClaimPlan } from '../admission/plan-types.ts';
import { selectorMatches } from '../policy/selector.ts';
import type { Policy } from '../policy/types.ts';
import { ownershipLabels } from '../labels.ts';

export interface PodClaims {
  policy?: Policy;
  claims: ClaimPlan[];
  /** Why nothing can be planned for this Pod (unknown policy, bad labels); undefined for Pods that are not ours. */
  problem?: string;
}

export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

export function claimKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function plannedClaims(pod: V1Pod, policies: readonly Policy[]): PodClaims {
  const policyName = pod.metadata?.annotations?.[ownershipLabels.policy];
  if (policyName === undefined) return { claims: [] };
  const policy = policies.find((candidate) => candidate.name === policyName);
  if (!policy) return { claims: [], problem: `the pod was admitted under policy "${policyName}", which this controller does not have` };
  // The annotation is only the webhook's record; the Pod itself must still be that policy's sandbox and mount the
  // storage, so a Pod that carries the annotation by other means makes the controller create or release nothing.
  // The webhook already chose the policy (namespace selector included); only the claims are recomputed here.
  if (!selectorMatches(policy.spec.podSelector, pod.metadata?.labels ?? {})) {
    return { policy, claims: [], problem: `the pod carries the annotation of policy "${policyName}", which does not select it` };
  }
  const storage = planStorage(pod, policy, pod.metadata?.namespace ?? '');
  if (storage.denials.length > 0) return { policy, claims: [], problem: storage.denials.join('; ') };
  const mounted = new Set((pod.spec?.volumes ?? []).map((volume) => volume.persistentVolumeClaim?.claimName));
  const unmounted = storage.claims.filter((claim) => !mounted.has(claim.name));
  if (unmounted.length > 0) {
    return { policy, claims: [], problem: `the pod carries the annotation of policy "${policyName}" but does not mount ${unmounted.map((claim) => `PVC ${claim.name}`).join(', ')}` };
  }
  return { policy, claims: storage.claims };
}

/**
 * Whether a watch event of a Pod is worth a reconcile of its PVC keys. A known Pod that waits for nothing, is not
 * going away and still needs the same PVCs (typically the event of its own gate removal) changes nothing a
 * reconcile would do; skipping it is one reconcile less per sandbox Pod. Anything else counts: a new Pod, a gated
 * one, a deletion, changed claims (labels).
 */
export function podChangeMatters(
  pod: V1Pod,
  change: { known: boolean; deleted: boolean; previous: readonly string[]; next: readonly string[] },
): boolean {
  const { known, deleted, previous, next } = change;
  if (deleted || !known || pod.metadata?.deletionTimestamp || hasStorageGate(pod)) return true;
  return previous.length !== next.length || previous.some((key, index) => key !== next[index]);
}
