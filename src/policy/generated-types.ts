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

export interface PreparationSpec {
  /** Prepare the directories before sandbox Pods start. */
  enabled: boolean;
  /** A PVC on the same share as spec.shared.claimName, in the preparation namespace (an admin-provided second claim, e.g. a second PV for the same NFS export); required when enabled. */
  claimName: string;
  /** Namespace of the preparation Pods and of claimName; empty means the controller's own namespace. */
  namespace: string;
  /** Image of the preparation Pod (needs sh, mkdir, chown, chmod, stat, id: the sandbox-storage image); empty means the controller's --preparation-image. */
  image: string;
  /** root: mounts only the identity's prefix and chowns (keeps CHOWN, DAC_OVERRIDE, FOWNER). identity: for NFS with root_squash, runs as the sandbox's uid:gid and creates the prefix in its parent, which the admin makes writable (e.g. mode 1733). */
  runAs: 'root' | 'identity';
  /** Octal mode of the prepared directories; 0700 keeps other users out even if they share a group. */
  mode: string;
}

export interface IsolationSpec {
  /** Requesters exempt from the storage-scope rules of this policy's volumes, e.g. the component that manages the shared PVC and mounts its root. */
  exemptions: {
    /** Exempt usernames, e.g. system:serviceaccount:platform:gateway. */
    users: Array<string>;
    /** Exempt groups. */
    groups: Array<string>;
  };
  /** Requester binding: which requester may create (or debug) a sandbox Pod for which user id. */
  requesters: {
    /** Bind user ids to requesters: trusted users and groups may use any user id, anyone else only its own username (after usernameTransform). */
    enforce: boolean;
    /** Requesters that may use any user id, e.g. the spawner service account. */
    trustedUsers: Array<string>;
    /** Groups whose members may use any user id, e.g. system:serviceaccounts:platform. */
    trustedGroups: Array<string>;
    /** How a requester username becomes the user id it may use. */
    usernameTransform: {
      /** Removed from the username (e.g. "oidc:"); a username without it may use no user id. */
      stripPrefix: string;
    };
  };
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
    /** Shared mode: before a sandbox Pod starts, the controller runs a short Pod that creates the identity's directories on the share owned by the sandbox's uid:gid (kubelet would create a missing subPath as root, which a seeder running as the sandbox user cannot write to). The Pod waits behind the scheduling gate meanwhile. */
    preparation: PreparationSpec;
  };
  /** How the controller provides the storage sandbox Pods wait for. */
  provisioning: {
    /** Hold sandbox Pods with the scheduling gate sandbox-storage.io/storage until their PVC exists; the controller removes it. */
    schedulingGate: boolean;
    /** Take over a PVC of the planned name that carries the identity labels but was not created by sandbox-storage. */
    adoptExisting: boolean;
    /** A PVC still Pending this many seconds after creation is reported with a Warning Event on its Pods. */
    pendingWarningSeconds: number;
    /** Shared mode: create spec.shared.claimName when it is missing, with these hints. */
    shared: {
      /** Create the shared PVC when it does not exist. */
      createIfMissing: boolean;
      /** StorageClass of created PVCs; unset means the cluster's default. */
      storageClassName?: string;
      /** Requested size of created PVCs (a Kubernetes quantity). */
      size: string;
      /** Access modes of created PVCs. */
      accessModes: Array<'ReadWriteOnce' | 'ReadWriteOncePod' | 'ReadWriteMany' | 'ReadOnlyMany'>;
      /** Volume mode of created PVCs; only Filesystem can be mounted at a path. */
      volumeMode: 'Filesystem';
    };
  };
  /** What happens to a workspace PVC once no Pod uses it. User data is kept unless this opts in. */
  retention: {
    /** Retain: never deleted because Pods went away. Delete: deleted gracePeriodSeconds after the last Pod is gone. */
    whenUnused: 'Retain' | 'Delete';
    /** Seconds after the last Pod is gone before Delete applies. */
    gracePeriodSeconds: number;
    /** Opt-in, also under Retain: delete a workspace PVC no Pod has used for this many seconds; 0 means never. */
    idleTTLSeconds: number;
  };
  /** Per-user limits on workspace PVCs in a namespace, enforced at admission and by the controller. */
  quota: {
    /** Most workspace PVCs one user may have in a namespace; 0 means no limit. */
    maxClaimsPerUser: number;
    /** Most storage (sum of requests) of one user's workspace PVCs in a namespace, e.g. 20Gi; empty means no limit. */
    maxStoragePerUser: string;
  };
  /** Copy the image's original directory into the volume on first use (init container in the sandbox image). */
  seed: {
    /** Add the seed init container. */
    enabled: boolean;
    /** Directory of the image that is copied; must be the mountPath of an injected read-write mount. An absolute, normalised path outside /sandbox-storage/ (used by the seed init container). */
    path: string;
    /** File in the volume that marks a complete seed. */
    sentinel: string;
    /** What an image change does to a volume seeded before: merge copies what the image added and updates what it changed that the user never touched; never leaves the volume alone. */
    reseed: 'merge' | 'never';
    /** Paths relative to seed.path that belong to the image: replaced on every image change even if the user edited them, and removed when the image drops them. */
    imageOwnedPaths: Array<string>;
    /** Where the seeder runs: shell runs it with the sandbox image's own sh and tar; imageVolume runs it in seederImage with the sandbox image mounted read-only as an image volume (KEP-4639), so images without a shell seed too. */
    source: 'shell' | 'imageVolume';
    /** Image with sh, tar and the usual tools (e.g. the sandbox-storage image) for source imageVolume. */
    seederImage: string;
    /** How the seed init container gets the seed script. configMap: a content-addressed, immutable ConfigMap (sandbox-storage-seed-<hash>) that the controller keeps in the namespace; the Pod waits behind the scheduling gate until it exists. imageVolume: the sandbox-storage image (scriptImage) mounted read-only as an image volume. inline: the whole script in the container's command (about 16 KB in every Pod), for clusters without the controller. configMap and imageVolume check the script's SHA-256 before running it. */
    scriptDelivery: 'configMap' | 'imageVolume' | 'inline';
    /** For scriptDelivery imageVolume: the sandbox-storage image, pinned by digest (name@sha256:<64 hex digits>), whose /app/dist/src/seed/seed.sh is run; it must carry the same script version as the webhook, which the hash check enforces. */
    scriptImage: string;
    /** Who the seeder runs as: root (only the CHOWN, DAC_OVERRIDE, FOWNER and FSETID capabilities) chowns what it writes to the sandbox's runAsUser/runAsGroup; sandboxUser runs as the sandbox itself; auto picks root unless the namespace enforces the restricted Pod Security level (or, without namespace labels, the Pod declares runAsNonRoot). */
    runAs: 'auto' | 'root' | 'sandboxUser';
  };
  /** Who may go around the storage scope (exemptions), and who may create sandbox Pods for which user ids (requesters). */
  isolation: IsolationSpec;
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
