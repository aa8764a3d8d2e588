// Per-Pod provisioning times, from watches of one namespace stamped on arrival in the bench process: when each
// planned PVC first appeared and when each Pod was first seen without the storage scheduling gate.
import * as k8s from '@kubernetes/client-node';
import { storageSchedulingGate } from '../../src/labels.ts';

export interface ProvisioningWatch {
  claimSeenAt(name: string): number | undefined;
  releasedAt(pod: string): number | undefined;
  stop(): Promise<void>;
}

export async function watchProvisioning(kubeConfig: k8s.KubeConfig, namespace: string): Promise<ProvisioningWatch> {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const claimSeen = new Map<string, number>();
  const released = new Map<string, number>();
  const claims = k8s.makeInformer(kubeConfig, `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, () => core.listNamespacedPersistentVolumeClaim({ namespace }));
  claims.on('add', (claim) => {
    const name = claim.metadata?.name ?? '';
    if (!claimSeen.has(name)) claimSeen.set(name, performance.now());
  });
  const pods = k8s.makeInformer(kubeConfig, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace }));
  const onPod = (pod: k8s.V1Pod) => {
    const name = pod.metadata?.name ?? '';
    const gated = (pod.spec?.schedulingGates ?? []).some((gate) => gate.name === storageSchedulingGate);
    if (!gated && !released.has(name)) released.set(name, performance.now());
  };
  pods.on('add', onPod);
  pods.on('update', onPod);
  await claims.start();
  await pods.start();
  return {
    claimSeenAt: (name) => claimSeen.get(name),
    releasedAt: (pod) => released.get(pod),
    async stop() {
      await Promise.all([claims.stop(), pods.stop()]);
    },
  };
}
