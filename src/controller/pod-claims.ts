// Which PVCs an admitted sandbox Pod needs: the same planning core as the webhook, for the policy the webhook
// recorded on the Pod, so names and hints are never derived twice.
import type { V1Pod } from '@kubernetes/client-node';
import { planPod } from '../admission/plan-pod.ts';
import type { ClaimPlan } from '../admission/plan-types.ts';
import { ownershipLabels } from '../admission/storage-layout.ts';
import type { Policy } from '../policy/types.ts';

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
  // The webhook already chose the policy (namespace selector included); only the claims are recomputed here.
  const chosen: Policy = { ...policy, spec: { ...policy.spec, namespaceSelector: {} } };
  const plan = planPod(pod, [chosen], {
    operation: 'CREATE',
    namespace: pod.metadata?.namespace ?? '',
    dryRun: false,
    userInfo: {},
  });
  if (plan.denials.length > 0) return { policy, claims: [], problem: plan.denials.join('; ') };
  return { policy, claims: plan.claims };
}
