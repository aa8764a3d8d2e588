// Generated from src/policy/schema.ts by `npm run generate`; do not edit.
// A resolved policy: every field with a default is present.

export interface LabelSelectorRequirement {
  /** Label key. */
  key: string;
  /** How the key relates to the values. */
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  /** Values for In and NotIn; empty for Exists and DoesNotExist. */
  values?: Array<string>;
}

export interface LabelSelector {
  /** Labels that must all be present with exactly these values. */
  matchLabels?: Record<string, string>;
  /** Requirements that must all hold. */
  matchExpressions?: Array<LabelSelectorRequirement>;
}

export interface SharedMount {
  /** Template of the subPath inside the shared PVC, with {user} and {thread} (each rendered with a reversible, case-free encoding of the id). */
  subPath: string;
  /** Where the subPath is mounted in the sandbox container. An absolute, normalised path outside /sandbox-storage/ (used by the seed init container). */
  mountPath: string;
  /** Mount read-only. */
  readOnly: boolean;
}

export interface PolicySpec {
  /** Namespaces the policy governs, by their labels. Empty selects every namespace. */
  namespaceSelector: LabelSelector;
  /** Which Pods are sandboxes, by their labels. */
  podSelector: LabelSelector;
  /** The Pod labels that carry the tenant identity. */
  identity: {
    /** Label holding the user id (required on every sandbox Pod). */
    userLabel: string;
    /** Label holding the thread id (required when storage is per thread). */
    threadLabel: string;
  };
  /** Name of the sandbox container that gets the mounts; empty means the first container. */
  container: string;
  /** workspace: a PVC per identity. shared: subPaths of one pre-existing ReadWriteMany PVC. */
  mode: 'workspace' | 'shared';
  /** enforce: Pods that break the policy are denied. audit: they are admitted unchanged and the would-be denial is reported (admission warning, log, metric), to roll a policy out safely. */
  enforcement: 'enforce' | 'audit';
  /** Workspace mode: one PVC per (user, thread), or per user. */
  workspace: {
    /** thread: one PVC per (user, thread). user: one PVC per user. */
    scope: 'thread' | 'user';
    /** Where the PVC is mounted in the sandbox container. An absolute, normalised path outside /sandbox-storage/ (used by the seed init container). */
    mountPath: string;
    /** Fixed prefix of every workspace PVC name, so governed claims are recognisable from the policy alone. */
    claimNamePrefix: string;
    /** StorageClass of created PVCs; unset means the cluster's default. */
    storageClassName?: string;
    /** Requested size of created PVCs (a Kubernetes quantity). */
    size: string;
    /** Access modes of created PVCs. */
    accessModes: Array<'ReadWriteOnce' | 'ReadWriteOncePod' | 'ReadWriteMany' | 'ReadOnlyMany'>;
    /** Volume mode of created PVCs; only Filesystem can be mounted at a path. */
    volumeMode: 'Filesystem';
  };
  /** Shared mode: per-identity subPaths of one pre-existing ReadWriteMany PVC. */
  shared: {
    /** The shared PVC, in the Pod's namespace (required in shared mode). */
    claimName: string;
    /** Mounts of the shared PVC into the sandbox container. */
    mounts: Array<SharedMount>;
  };
  /** Copy the image's original directory into the volume on first use (init container in the sandbox image). */
  seed: {
    /** Add the seed init container. */
    enabled: boolean;
    /** Directory of the image that is copied; must be the mountPath of an injected read-write mount. An absolute, normalised path outside /sandbox-storage/ (used by the seed init container). */
    path: string;
    /** File in the volume that marks a complete seed. */
    sentinel: string;
  };
}

export interface PolicyCondition {
  /** Ready or Invalid. */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  /** RFC 3339 time of the last status change. */
  lastTransitionTime: string;
  /** CamelCase reason. */
  reason: string;
  /** Human-readable details. */
  message: string;
}

export interface PolicyStatus {
  /** The generation the conditions describe. */
  observedGeneration?: number;
  /** Ready: the policy is loaded and serving. Invalid: it is not (the last good version keeps serving). */
  conditions?: Array<PolicyCondition>;
}
