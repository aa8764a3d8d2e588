// What `migrate plan` and `run` read besides Jobs: the namespace's PVCs, and the Pods that would write to an
// identity's data while it is copied (sandbox Pods of the identity, Pods mounting a source claim).
import * as k8s from '@kubernetes/client-node';
import type { ObservedClaim } from '../admission/plan-types.ts';
import { observeClaim } from './claims.ts';

export async function listClaims(config: k8s.KubeConfig, namespace: string): Promise<ObservedClaim[]> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  return (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.map(observeClaim);
}

export interface ActivePod {
  name: string;
  labels: Record<string, string>;
  claims: string[];
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
    }));
}
