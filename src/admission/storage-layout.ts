// The volume, mounts and PVC a policy gives one identity.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { workspaceClaimName } from '../naming/identity-names.ts';
import { parseSubPathTemplate, renderSubPath } from '../naming/subpath-template.ts';
import type { Policy } from '../policy/types.ts';
import type { ClaimPlan } from './plan-types.ts';
import type { SandboxIdentity } from './identity.ts';

export const volumeNames = { workspace: 'sandbox-storage-workspace', shared: 'sandbox-storage-shared' } as const;

/** Labels written on workspace PVCs: who owns it, and which policy manages it. */
export const ownershipLabels = {
  managedBy: 'app.kubernetes.io/managed-by',
  policy: 'sandbox-storage.io/policy',
} as const;
export const managedByValue = 'sandbox-storage-webhook';

export interface StorageLayout {
  volume: V1Volume;
  mounts: V1VolumeMount[];
  claim?: ClaimPlan;
}

export function storageLayout(policy: Policy, identity: SandboxIdentity, namespace: string): StorageLayout {
  const { spec } = policy;
  if (spec.mode === 'workspace') {
    const workspace = spec.workspace;
    const claimName = workspaceClaimName(workspace.claimNamePrefix, { scope: workspace.scope, ...identity });
    const labels: Record<string, string> = {
      [ownershipLabels.managedBy]: managedByValue,
      [ownershipLabels.policy]: policy.name,
      [spec.identity.userLabel]: identity.user,
    };
    if (workspace.scope === 'thread' && identity.thread !== undefined) labels[spec.identity.threadLabel] = identity.thread;
    const claim: ClaimPlan = {
      name: claimName,
      namespace,
      labels,
      size: workspace.size,
      accessModes: [...workspace.accessModes],
      volumeMode: workspace.volumeMode,
    };
    if (workspace.storageClassName !== undefined) claim.storageClassName = workspace.storageClassName;
    return {
      volume: { name: volumeNames.workspace, persistentVolumeClaim: { claimName } },
      mounts: [{ name: volumeNames.workspace, mountPath: workspace.mountPath }],
      claim,
    };
  }
  return {
    volume: { name: volumeNames.shared, persistentVolumeClaim: { claimName: spec.shared.claimName } },
    mounts: spec.shared.mounts.map((mount) => {
      const volumeMount: V1VolumeMount = {
        name: volumeNames.shared,
        mountPath: mount.mountPath,
        subPath: renderSubPath(parseSubPathTemplate(mount.subPath), identity),
      };
      if (mount.readOnly) volumeMount.readOnly = true;
      return volumeMount;
    }),
  };
}
