// The shared volume of shared mode, as an admin provides it: one storage location bound by two claims, the sandboxes'
// claim in their namespace and the admin claim the directory-preparation Pods mount in the controller's namespace.
// Both are static hostPath PVs on one node (pinned by node affinity, so a multi-node cluster uses one directory).
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { cluster, core } from './cluster-context.ts';
import { waitFor } from '../../harness/wait.ts';

export interface SharedVolume {
  claimName: string;
  adminClaimName: string;
  remove(): Promise<void>;
}

export async function createSharedVolume(namespace: string): Promise<SharedVolume> {
  const nodes = await core.listNode();
  const node = nodes.items.find((candidate) => !(candidate.spec?.taints ?? []).some((taint) => taint.effect === 'NoSchedule'));
  if (!node) throw new Error('no schedulable node for the shared volume');
  const id = randomBytes(3).toString('hex');
  const path = `${cluster.hostPathRoot}/share-${namespace}-${id}`;
  const claimName = 'sandbox-data';
  const adminClaimName = `share-${namespace}`.slice(0, 63);
  const volumes = [
    { name: `e2e-share-${id}`, namespace, claim: claimName },
    { name: `e2e-share-admin-${id}`, namespace: cluster.systemNamespace, claim: adminClaimName },
  ];
  for (const volume of volumes) {
    await core.createPersistentVolume({
      body: {
        metadata: { name: volume.name },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteMany'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: '',
          claimRef: { namespace: volume.namespace, name: volume.claim },
          hostPath: { path, type: 'DirectoryOrCreate' },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node.metadata?.labels?.['kubernetes.io/hostname'] ?? ''] }] }],
            },
          },
        },
      },
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: volume.namespace,
      body: {
        metadata: { name: volume.claim },
        spec: { accessModes: ['ReadWriteMany'], storageClassName: '', volumeName: volume.name, resources: { requests: { storage: '1Gi' } } },
      },
    });
  }
  for (const volume of volumes) {
    await waitFor(async () => (await core.readNamespacedPersistentVolumeClaim({ namespace: volume.namespace, name: volume.claim })).status?.phase === 'Bound', {
      description: `PVC ${volume.namespace}/${volume.claim} Bound`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
  }
  return {
    claimName,
    adminClaimName,
    async remove() {
      for (const volume of volumes) {
        await core.deleteNamespacedPersistentVolumeClaim({ namespace: volume.namespace, name: volume.claim }).catch(() => undefined);
        await core.deletePersistentVolume({ name: volume.name }).catch(() => undefined);
      }
    },
  };
}

/** examples/policies/shared.yaml, with directory preparation (needed wherever the sandbox cannot run as root). */
export function sharedPolicy(volume: SharedVolume, trustedGroups: string[]): Record<string, unknown> {
  return {
    mode: 'shared',
    shared: {
      claimName: volume.claimName,
      mounts: [
        { subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' },
        { subPath: 'users/{user}/skills', mountPath: '/skills', readOnly: true },
      ],
      preparation: { enabled: true, claimName: volume.adminClaimName },
    },
    isolation: { requesters: { enforce: true, trustedGroups } },
  };
}

/** The Pod's volume holding the shared claim. */
export function sharedVolumeName(pod: k8s.V1Pod, claimName: string): string {
  const volume = pod.spec?.volumes?.find((candidate) => candidate.persistentVolumeClaim?.claimName === claimName);
  if (!volume) throw new Error(`pod ${pod.metadata?.name} has no volume of claim ${claimName}`);
  return volume.name;
}
