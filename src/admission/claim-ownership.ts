// Whether an observed PVC may be mounted for a planned claim. A PVC with the planned name but another identity is a
// hijack attempt (or a collision), never mounted for someone else. Pure: the caller brings what it observed.
import type { ClaimPlan, ObservedClaim } from './plan-types.ts';
import { managedByValue, ownershipLabels } from './storage-layout.ts';

export type ClaimState =
  /** No PVC of that name (or it is being deleted): create it, and keep Pods gated meanwhile. */
  | { state: 'missing'; terminating: boolean }
  /** Exists and is ours for this identity (or is the shared PVC): Pods may use it. */
  | { state: 'ready' }
  /** Carries this identity's labels but was made by someone else, and the policy allows taking it over. */
  | { state: 'adoptable' }
  /** Must not be mounted for this identity; `reason` says why, naming the PVC. */
  | { state: 'conflict'; reason: string };

function describeLabels(labels: Record<string, string>, keys: string[]): string {
  const shown = keys.map((key) => `${key}=${labels[key] ?? '(none)'}`);
  return shown.join(', ');
}

export function claimState(plan: ClaimPlan, observed: ObservedClaim | undefined, adoptExisting: boolean): ClaimState {
  if (observed === undefined) return { state: 'missing', terminating: false };
  if (observed.deleting) return { state: 'missing', terminating: true };
  if (plan.role === 'shared') return { state: 'ready' };

  const expectedHash = plan.labels[ownershipLabels.identityHash];
  const identityKeys = Object.keys(plan.identityLabels);
  const managedByUs = observed.labels[ownershipLabels.managedBy] === managedByValue;
  if (managedByUs) {
    if (observed.labels[ownershipLabels.identityHash] === expectedHash) return { state: 'ready' };
    return {
      state: 'conflict',
      reason: `PVC ${plan.name} exists but was provisioned for another identity (${ownershipLabels.identityHash}=${observed.labels[ownershipLabels.identityHash] ?? '(none)'}, ${describeLabels(observed.labels, identityKeys)}); it is never mounted for ${describeLabels(plan.identityLabels, identityKeys)}`,
    };
  }
  const sameIdentity = identityKeys.every((key) => observed.labels[key] === plan.identityLabels[key]);
  if (!sameIdentity) {
    return {
      state: 'conflict',
      reason: `PVC ${plan.name} exists but belongs to someone else (${describeLabels(observed.labels, identityKeys)}, not created by sandbox-storage); it is never mounted for ${describeLabels(plan.identityLabels, identityKeys)}`,
    };
  }
  if (adoptExisting) return { state: 'adoptable' };
  return {
    state: 'conflict',
    reason: `PVC ${plan.name} exists with this identity's labels but was not created by sandbox-storage, and the policy does not adopt existing PVCs (spec.provisioning.adoptExisting: false)`,
  };
}
