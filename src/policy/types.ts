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
/** What an image change does to a volume seeded before: merge the image's changes in, or leave the volume alone. */
export type SeedReseed = 'merge' | 'never';
/** Where the seeder runs: in the sandbox image's own shell, or in the seeder image with the sandbox image mounted. */
export type SeedSource = 'shell' | 'imageVolume';
/** Who the seed init container runs as: root (to chown), the sandbox's own user, or chosen per Pod Security level. */
export type SeedRunAs = 'auto' | 'root' | 'sandboxUser';

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
  seed: {
    enabled: boolean;
    /** Directory of the sandbox image copied into the volume on first use; also the mount path that is seeded. */
    path: string;
    sentinel: string;
    reseed: SeedReseed;
    /** Paths relative to `path` that belong to the image: replaced on every image change, even if the user edited them. */
    imageOwnedPaths: string[];
    source: SeedSource;
    /** Image with sh, tar and the usual tools (the project's image) that seeds when `source` is `imageVolume`. */
    seederImage: string;
    runAs: SeedRunAs;
  };
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
