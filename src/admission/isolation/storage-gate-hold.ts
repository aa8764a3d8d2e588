// The storage gate holds a sandbox Pod until its storage exists and any migration of its identity is done. Only the
// controller lifts it: a Pod that starts early mounts storage still being migrated (two writers over the user's
// files) or a directory nobody prepared. Gates can only be removed after creation, so this is the one way around
// it. Pure.
import type { Policy } from '../../policy/types.ts';
import { selectPolicy } from '../../policy/select-policy.ts';
import type { RequesterInfo } from '../plan-types.ts';
import { hasStorageGate } from '../scheduling-gate.ts';
import { controllerName, isController } from './governed-claims.ts';
import { podLabels } from '../../plain-json.ts';
import { storageSchedulingGate } from '../../labels.ts';

export interface GateChange {
  oldObject?: unknown;
  object: unknown;
  userInfo: RequesterInfo;
  /** The controller's username; undefined when unknown (then nobody is the controller). */
  controllerUsername?: string;
  namespaceLabels?: Record<string, string>;
}

/** The denial when a Pod UPDATE by anyone but the controller removes the storage gate of a sandbox Pod. */
export function storageGateRemovalDenials(change: GateChange, governing: readonly Policy[]): string[] {
  if (!hasStorageGate(change.oldObject) || hasStorageGate(change.object)) return [];
  // Selected as it was: the same update dropping the opt-in label must not lift the hold.
  const { policy } = selectPolicy(governing, podLabels(change.oldObject), change.namespaceLabels);
  if (!policy || isController(change.userInfo, change.controllerUsername)) return [];
  return [
    `spec.schedulingGates: the gate ${JSON.stringify(storageSchedulingGate)} holds this sandbox Pod of policy ${JSON.stringify(policy.name)} until its storage is ready and no migration of its identity runs; only ${controllerName(change.controllerUsername)} removes it [rule StorageGateHeld]`,
  ];
}
