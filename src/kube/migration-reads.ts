// What `migrate plan` and `run` read besides Jobs: the namespace's PVCs, and the Pods that would write to an
// identity's data while it is copied (sandbox Pods of the identity, Pods mounting a source claim).
import * as k8s from '@kubernetes/client-node';
import type { ObservedClaim } from '../admission/plan-types.ts';
import { hasStorageGate } from '../admission/scheduling-gate.ts';
import { ownershipLabels } from '../labels.ts';
import { observeClaim } from './claims.ts';

export async function listClaims(config: k8s.KubeConfig, namespace: string): Promise<ObservedClaim[]> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  return (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.map(observeClaim);
}

export interface ActivePod {
  name: string;
  labels: Record<string, string>;
  claims: string[];
  /** The policy the mutating webhook admitted it under (its annotation), if any. */
  policy?: string;
  /** Still behind the storage scheduling gate: not started, so it has written nothing. */
  gated: boolean;
}

/** Pods not yet ended (Pending, Running, Unknown, gated), with their labels and the claims they mount. */
export async function listActivePods(config: k8s.KubeConfig, namespace: string): Promise<ActivePod[]> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const pods = await core.listNamespacedPod({ namespace });
  return pods.items
    .filter((pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed')
    .map((pod) => ({
      name: pod.metadata?.name ?? '',
      labels: pod.metadata?.labels ?? {},
      claims: (pod.spec?.volumes ?? []).flatMap((volume) => (volume.persistentVolumeClaim ? [volume.persistentVolumeClaim.claimName] : [])),
      ...(pod.metadata?.annotations?.[ownershipLabels.policy] !== undefined ? { policy: pod.metadata.annotations[ownershipLabels.policy] } : {}),
      gated: hasStorageGate(pod),
    }));
}
