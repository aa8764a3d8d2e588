// The SandboxStoragePolicy API (sandbox-storage.io/v1alpha1), as written by admins and as resolved with defaults.

export const policyApiVersion = 'sandbox-storage.io/v1alpha1';
export const policyKind = 'SandboxStoragePolicy';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type StorageMode = 'workspace' | 'shared';
export type WorkspaceScope = 'thread' | 'user';
export type AccessMode = 'ReadWriteOnce' | 'ReadWriteOncePod' | 'ReadWriteMany' | 'ReadOnlyMany';
export type VolumeMode = 'Filesystem' | 'Block';

export interface SharedMount {
  /** Template with {user} and {thread}, rendered with the injective directory encoding of each id. */
  subPath: string;
  mountPath: string;
  readOnly: boolean;
}

export interface PolicySpec {
  /** Which namespaces the policy governs; empty selects every namespace. */
  namespaceSelector: LabelSelector;
  /** Which Pods are sandboxes. */
  podSelector: LabelSelector;
  identity: { userLabel: string; threadLabel: string };
  /** Name of the sandbox container; empty means the first container. */
  container: string;
  mode: StorageMode;
  workspace: {
    scope: WorkspaceScope;
    mountPath: string;
    /** Fixed prefix of every workspace PVC name, so governed claims are recognisable from the policy alone. */
    claimNamePrefix: string;
    /** Absent means the cluster's default StorageClass. */
    storageClassName?: string;
    size: string;
    accessModes: AccessMode[];
    volumeMode: VolumeMode;
  };
  shared: {
    claimName: string;
    mounts: SharedMount[];
  };
  /** How the controller provisions the planned PVCs and holds Pods until they exist. */
  provisioning: ProvisioningSpec;
  /** What happens to a workspace PVC once no Pod uses it. User data is kept unless this opts in. */
  retention: RetentionSpec;
  /** Per-user limits on workspace PVCs in a namespace; enforced at admission and by the controller. */
  quota: QuotaSpec;
  seed: {
    enabled: boolean;
    /** Directory of the sandbox image copied into the volume on first use; also the mount path that is seeded. */
    path: string;
    sentinel: string;
  };
}

export interface ProvisioningSpec {
  /** Hold sandbox Pods with a scheduling gate until their PVC exists; the controller removes it. */
  schedulingGate: boolean;
  /** Take over a PVC of the planned name that carries the Pod's identity labels but was not created by sandbox-storage. */
  adoptExisting: boolean;
  /** A PVC still Pending this many seconds after creation is reported with a Warning Event on its Pods. */
  pendingWarningSeconds: number;
  /** Shared mode: create spec.shared.claimName when it is missing, with these hints. */
  shared: {
    createIfMissing: boolean;
    /** Absent means the cluster's default StorageClass. */
    storageClassName?: string;
    size: string;
    accessModes: AccessMode[];
    volumeMode: VolumeMode;
  };
}

export interface QuotaSpec {
  /** Most workspace PVCs one user may have in a namespace; 0 = no limit. */
  maxClaimsPerUser: number;
  /** Most storage (sum of requests) of one user's workspace PVCs in a namespace, e.g. '20Gi'; '' = no limit. */
  maxStoragePerUser: string;
}

export type RetentionPolicy = 'Retain' | 'Delete';

export interface RetentionSpec {
  /** Retain: never deleted because Pods went away. Delete: deleted gracePeriodSeconds after the last Pod is gone. */
  whenUnused: RetentionPolicy;
  gracePeriodSeconds: number;
  /** Opt-in, also under Retain: delete a workspace PVC that no Pod has used for this many seconds. 0 = never. */
  idleTTLSeconds: number;
}

/** A policy as written: every spec field optional, defaults filled in by resolvePolicy. */
export interface PolicyDocument {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  spec?: DeepPartial<PolicySpec>;
}

export interface Policy {
  name: string;
  spec: PolicySpec;
}

export type DeepPartial<T> = T extends (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;
