// The volume, mounts and PVC a policy gives one identity.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { workspaceNames } from '../naming/identity-names.ts';
import { parseSubPathTemplate, renderSubPath } from '../naming/subpath-template.ts';
import type { Policy } from '../policy/types.ts';
import type { ClaimPlan } from './plan-types.ts';
import type { SandboxIdentity } from './identity.ts';
import { managedByValue, ownershipLabels } from '../labels.ts';

export const volumeNames = { workspace: 'sandbox-storage-workspace', shared: 'sandbox-storage-shared' } as const;


export interface StorageLayout {
  volume: V1Volume;
  mounts: V1VolumeMount[];
  claim?: ClaimPlan;
}

export function storageLayout(policy: Policy, identity: SandboxIdentity, namespace: string): StorageLayout {
  const { spec } = policy;
  if (spec.mode === 'workspace') {
    const workspace = spec.workspace;
    const workspaceIdentity = { scope: workspace.scope, ...identity };
    const { claimName, identityHash } = workspaceNames(workspace.claimNamePrefix, workspaceIdentity);
    // Identity ids are valid label values: readIdentity refuses any other.
    const identityLabels: Record<string, string> = { [spec.identity.userLabel]: identity.user };
    if (workspace.scope === 'thread' && identity.thread !== undefined) identityLabels[spec.identity.threadLabel] = identity.thread;
    const labels: Record<string, string> = {
      [ownershipLabels.managedBy]: managedByValue,
      [ownershipLabels.policy]: policy.name,
      ...identityLabels,
      [ownershipLabels.identityHash]: identityHash,
    };
    const claim: ClaimPlan = {
      name: claimName,
      namespace,
      role: 'workspace',
      create: true,
      labels,
      identityLabels,
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
  const hints = spec.provisioning.shared;
  const sharedClaim: ClaimPlan = {
    name: spec.shared.claimName,
    namespace,
    role: 'shared',
    create: hints.createIfMissing,
    labels: { [ownershipLabels.managedBy]: managedByValue, [ownershipLabels.policy]: policy.name },
    identityLabels: {},
    size: hints.size,
    accessModes: [...hints.accessModes],
    volumeMode: hints.volumeMode,
  };
  if (hints.storageClassName !== undefined) sharedClaim.storageClassName = hints.storageClassName;
  return {
    claim: sharedClaim,
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
