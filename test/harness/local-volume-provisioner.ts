// A provisioner for the test node's StorageClass: each PVC of the class gets a directory on the node and a `local`
// PersistentVolume pinned to the node; a released volume is deleted with its directory.
//
// Why not kube-controller-manager's host-path provisioner: kubelet applies a Pod's fsGroup to `local` volumes, as it
// does to real block and most CSI volumes, but never to `hostPath` ones, whose root stays 0750 root:root. A
// sandbox in a `restricted` namespace (seeder and sandbox non-root) could then not write its own workspace, which is
// a property of that provisioner, not of clusters.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

export const localProvisionerName = 'sandbox-storage.io/e2e-local-volume';
const provisionedByAnnotation = 'pv.kubernetes.io/provisioned-by';
const pollIntervalMs = 250;

export interface LocalVolumeProvisioner {
  storageClassName: string;
  /** Directory holding one directory per provisioned volume. */
  volumesDir: string;
  /** Problems seen so far (failed API calls), for a test's diagnostics. */
  errors: string[];
  stop(): Promise<void>;
}

export async function startLocalVolumeProvisioner(options: {
  kubeConfig: k8s.KubeConfig;
  volumesDir: string;
  nodeName: string;
  storageClassName: string;
}): Promise<LocalVolumeProvisioner> {
  const { kubeConfig, volumesDir, nodeName, storageClassName } = options;
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const storage = kubeConfig.makeApiClient(k8s.StorageV1Api);
  mkdirSync(volumesDir, { recursive: true });
  await storage.createStorageClass({
    body: {
      metadata: { name: storageClassName, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: localProvisionerName,
      // Retain: the PV controller has no deleter for `local` volumes; this provisioner deletes released ones.
      reclaimPolicy: 'Retain',
      volumeBindingMode: 'Immediate',
    },
  });
  const errors: string[] = [];
  let stopped = false;

  const provision = async (claim: k8s.V1PersistentVolumeClaim) => {
    const uid = claim.metadata?.uid ?? '';
    const name = `pvc-${uid}`;
    const path = join(volumesDir, name);
    mkdirSync(path, { recursive: true, mode: 0o755 });
    await core.createPersistentVolume({
      body: {
        metadata: { name, annotations: { [provisionedByAnnotation]: localProvisionerName } },
        spec: {
          capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
          accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName,
          claimRef: { namespace: claim.metadata?.namespace ?? '', name: claim.metadata?.name ?? '', uid },
          local: { path },
          nodeAffinity: {
            required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] }] },
          },
        },
      },
    });
  };

  const pass = async () => {
    const [claims, volumes] = await Promise.all([core.listPersistentVolumeClaimForAllNamespaces(), core.listPersistentVolume()]);
    const existing = new Set(volumes.items.map((volume) => volume.metadata?.name));
    for (const claim of claims.items) {
      if (claim.spec?.storageClassName !== storageClassName || claim.spec.volumeName || claim.metadata?.deletionTimestamp) continue;
      if (existing.has(`pvc-${claim.metadata?.uid}`)) continue;
      await provision(claim);
    }
    for (const volume of volumes.items) {
      if (volume.metadata?.annotations?.[provisionedByAnnotation] !== localProvisionerName) continue;
      if (volume.status?.phase !== 'Released') continue;
      await core.deletePersistentVolume({ name: volume.metadata.name ?? '' });
      rmSync(volume.spec?.local?.path ?? join(volumesDir, volume.metadata.name ?? ''), { recursive: true, force: true });
    }
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await pass();
      } catch (error) {
        if (!stopped) errors.push(error instanceof Error ? error.message : String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
    }
  })();

  return {
    storageClassName,
    volumesDir,
    errors,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
