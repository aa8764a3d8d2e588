// What the planning core takes and gives back; plain data, no I/O.
import type { AccessMode, VolumeMode } from '../policy/types.ts';

export interface RequesterInfo {
  username?: string;
  groups?: string[];
}

export interface PlanRequest {
  operation: string;
  namespace: string;
  /** Labels of the request's namespace, for policies with a namespaceSelector; undefined when unknown. */
  namespaceLabels?: Record<string, string>;
  dryRun: boolean;
  userInfo: RequesterInfo;
  /**
   * What the cluster has under a PVC name (e.g. an informer cache), so that storage that is already there needs no
   * scheduling gate and a PVC of another identity is refused. Undefined when unknown: every Pod is then gated.
   */
  claims?: ClaimLookup;
  /**
   * The ownership key (32 bytes, from the cluster's ownership-key Secret): an existing PVC of a planned name is only
   * used when its ownership proof verifies under it. Undefined when not (yet) read: such PVCs are then unproven.
   */
  ownershipKey?: Uint8Array;
}

/** A PVC as observed in the cluster, reduced to what ownership and readiness decisions need. */
export interface ObservedClaim {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Set once deletion was requested; such a PVC is on its way out and cannot be used. */
  deleting: boolean;
  /** spec.resources.requests.storage in bytes (0 when unreadable), for per-user storage quotas. */
  requestedBytes: number;
}

export interface ClaimLookup {
  get(namespace: string, name: string): ObservedClaim | undefined;
  /** The workspace PVCs sandbox-storage manages for one user in a namespace (label `userLabel` = `user`). */
  ofUser(namespace: string, userLabel: string, user: string): ObservedClaim[];
}

/** A PVC the plan needs; the controller creates it when missing (and `create` allows). */
export interface ClaimPlan {
  name: string;
  namespace: string;
  /** 'workspace': one identity's own PVC; 'shared': the policy's PVC that every identity mounts a subPath of. */
  role: 'workspace' | 'shared';
  /** Whether the controller creates it when missing: always for workspaces, for the shared PVC only when asked. */
  create: boolean;
  /** Written on the PVC when created; for workspaces they include the identity and its hash. */
  labels: Record<string, string>;
  /** Workspace PVCs: the identity labels alone (user, and thread for scope thread), for adoption checks. */
  identityLabels: Record<string, string>;
  storageClassName?: string;
  size: string;
  accessModes: AccessMode[];
  volumeMode: VolumeMode;
}

export interface PodPlan {
  /** False for Pods no policy selects: they pass untouched. */
  selected: boolean;
  policyName?: string;
  /** The Pod as it should be admitted (a mutated copy; the input is never changed). */
  mutated?: Record<string, unknown>;
  warnings: string[];
  denials: string[];
  /** CamelCase reason of each denial, for metrics (e.g. IdentityLabelMissing). */
  denialReasons?: string[];
  claims: ClaimPlan[];
  /** The seed-script ConfigMap the Pod mounts (configMap delivery); the controller creates it in the namespace. */
  seedScriptConfigMap?: string;
}
