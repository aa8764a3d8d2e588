// Whether an observed PVC may be mounted for a planned claim. Labels say whose a PVC claims to be, and anyone who can
// create a PVC (or a Pod with a generic ephemeral volume) can write them; only the ownership proof, an HMAC under a
// key only this product holds, says the controller made (or adopted) it for exactly this plan. A PVC of the planned
// name without a valid proof is a hijack attempt (or a collision): never mounted, adopted, counted or deleted.
// Pure: the caller brings what it observed and the key.
import type { ClaimPlan, ObservedClaim } from './plan-types.ts';
import { claimStatement, ownershipMarks, proofMatches, provenByOwnLabels } from './ownership-proof.ts';
import { ownershipLabels, ownershipProofAnnotation } from '../labels.ts';

export type ClaimState =
  /** No PVC of that name (or it is being deleted): create it, and keep Pods gated meanwhile. */
  | { state: 'missing'; terminating: boolean }
  /** Exists and is proven ours for this plan (or is the admin's shared PVC): Pods may use it. */
  | { state: 'ready' }
  /** Carries this identity's labels and none of ours, and the policy allows taking it over. */
  | { state: 'adoptable' }
  /** Proven ours, but for another identity (a collision): never mounted for this one. */
  | { state: 'conflict'; reason: string }
  /** No valid ownership proof for this plan: never mounted, adopted, counted or deleted; `reason` names the PVC. */
  | { state: 'unproven'; reason: string };

function describeLabels(labels: Record<string, string>, keys: string[]): string {
  const shown = keys.map((key) => `${key}=${labels[key] ?? '(none)'}`);
  return shown.join(', ');
}

/** The start of every unproven reason: the PVC, and that it carries no valid proof. */
export function unprovenPrefix(name: string): string {
  return `PVC ${name} carries no valid ownership proof (annotation ${ownershipProofAnnotation})`;
}

export function claimState(
  plan: ClaimPlan,
  observed: ObservedClaim | undefined,
  adoptExisting: boolean,
  ownershipKey?: Uint8Array,
): ClaimState {
  if (observed === undefined) return { state: 'missing', terminating: false };
  if (observed.deleting) return { state: 'missing', terminating: true };
  // The admin creates this one (createIfMissing: false): trusted by name; who may create it is checked at admission.
  if (plan.role === 'shared' && !plan.create) return { state: 'ready' };

  if (ownershipKey === undefined) {
    return {
      state: 'unproven',
      reason: `${unprovenPrefix(plan.name)} that this replica can check: the ownership key has not been read yet; it is not mounted until it is proven`,
    };
  }
  if (proofMatches(ownershipKey, claimStatement(plan), observed.annotations[ownershipProofAnnotation])) return { state: 'ready' };

  const identityKeys = Object.keys(plan.identityLabels);
  const whose = plan.role === 'workspace' ? ` for ${describeLabels(plan.identityLabels, identityKeys)}` : '';
  if (provenByOwnLabels(ownershipKey, plan.namespace, observed)) {
    return {
      state: 'conflict',
      reason: `PVC ${plan.name} exists but was provisioned for another identity (${ownershipLabels.identityHash}=${observed.labels[ownershipLabels.identityHash] ?? '(none)'}, ${describeLabels(observed.labels, identityKeys)}); it is never mounted${whose}`,
    };
  }
  const marks = ownershipMarks(observed.labels, observed.annotations);
  if (marks.length > 0) {
    return {
      state: 'unproven',
      reason: `${unprovenPrefix(plan.name)} for policy "${plan.labels[ownershipLabels.policy] ?? ''}"${whose}, yet carries ${marks.join(', ')}: it was not made by sandbox-storage, and is never mounted, adopted or counted`,
    };
  }
  const sameIdentity = identityKeys.every((key) => observed.labels[key] === plan.identityLabels[key]);
  if (!sameIdentity) {
    return {
      state: 'unproven',
      reason: `${unprovenPrefix(plan.name)} and belongs to someone else (${describeLabels(observed.labels, identityKeys)}, not created by sandbox-storage); it is never mounted${whose}`,
    };
  }
  if (adoptExisting) return { state: 'adoptable' };
  return {
    state: 'unproven',
    reason: `${unprovenPrefix(plan.name)}: it exists${plan.role === 'workspace' ? " with this identity's labels" : ''} but was not created by sandbox-storage, and the policy does not adopt existing PVCs (spec.provisioning.adoptExisting: false)`,
  };
}

/**
 * The PVCs of a user's list that count against a quota: only those proven to be what their labels say. A planted
 * PVC with forged labels must not use up a victim's quota. Without a key nothing is proven, so nothing counts (the
 * controller, which always holds the key, enforces the quota again before it creates a PVC).
 */
export function provenClaims<T extends { name: string; labels: Record<string, string>; annotations: Record<string, string> }>(
  ownershipKey: Uint8Array | undefined,
  namespace: string,
  claims: T[],
): T[] {
  return claims.filter((claim) => provenByOwnLabels(ownershipKey, namespace, claim));
}
