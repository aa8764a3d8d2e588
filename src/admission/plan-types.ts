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
}

/** A PVC the plan needs; the controller creates it when missing. */
export interface ClaimPlan {
  name: string;
  namespace: string;
  labels: Record<string, string>;
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
}
