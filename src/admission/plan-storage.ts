// What storage one policy gives one Pod, decided without changing the Pod: the identity, the volume and mounts
// (storage-layout.ts), the PVCs, and every reason to refuse. planPod applies it (and seeds and gates the Pod); the
// controller reads the PVCs a Pod needs from it. No I/O: observed PVCs, when known, are passed in as data.
import type { V1Container, V1Pod, V1VolumeMount } from '@kubernetes/client-node';
import { describeSelector } from '../policy/selector.ts';
import type { Policy } from '../policy/types.ts';
import { claimState, provenClaims, type ClaimState } from './claim-ownership.ts';
import { readIdentity, type SandboxIdentity } from './identity.ts';
import type { ClaimLookup, ClaimPlan } from './plan-types.ts';
import { quotaViolation } from './quota.ts';
import { storageLayout, type StorageLayout } from './storage-layout.ts';
import { containsAll } from './subset.ts';

/** The PVCs that exist (an informer cache) and the key that proves whose they are. */
export interface ObservedStorage {
  claims: ClaimLookup;
  ownershipKey?: Uint8Array;
}

export interface StoragePlan {
  warnings: string[];
  /** Why the Pod must be refused; when there are any, nothing below is set and `claims` is empty. */
  denials: string[];
  denialReasons?: string[];
  identity?: SandboxIdentity;
  /** The sandbox container, as in the Pod. */
  sandbox?: V1Container;
  layout?: StorageLayout;
  /** The layout's mounts that go in; a path the container already mounts from another volume is left to it. */
  mounts: V1VolumeMount[];
  /** The PVCs the Pod needs; empty when no mount goes in. */
  claims: ClaimPlan[];
  /** How the observed PVC stands; undefined without observed storage. */
  claimState?: ClaimState;
}

function findSandboxContainer(pod: V1Pod, policy: Policy): { container?: V1Container; denial?: string } {
  const containers = pod.spec?.containers ?? [];
  if (policy.spec.container === '') {
    const first = containers[0];
    return first ? { container: first } : { denial: 'the pod has no containers' };
  }
  const named = containers.find((container) => container.name === policy.spec.container);
  if (named) return { container: named };
  const names = containers.map((container) => container.name).join(', ') || 'none';
  return {
    denial: `policy "${policy.name}" mounts storage into container "${policy.spec.container}", but the pod has no such container (containers: ${names})`,
  };
}

export function planStorage(pod: V1Pod, policy: Policy, namespace: string, observed?: ObservedStorage): StoragePlan {
  const plan: StoragePlan = { warnings: [], denials: [], mounts: [], claims: [] };
  const refuse = (denials: string[], reasons?: string[]): StoragePlan => ({
    warnings: plan.warnings,
    denials,
    ...(reasons ? { denialReasons: reasons } : {}),
    mounts: [],
    claims: [],
  });

  const { identity, denials, reasons } = readIdentity(pod.metadata?.labels, policy);
  const { container: sandbox, denial: containerDenial } = findSandboxContainer(pod, policy);
  if (containerDenial) {
    denials.push(containerDenial);
    reasons.push('ContainerNotFound');
  }
  if (!identity || !sandbox || denials.length > 0) {
    return refuse(denials.map((denial) => `${denial} (selected by ${describeSelector(policy.spec.podSelector)})`), reasons);
  }

  const layout = storageLayout(policy, identity, namespace);
  const existingVolume = (pod.spec?.volumes ?? []).find((volume) => volume.name === layout.volume.name);
  if (existingVolume && !containsAll(existingVolume, layout.volume)) {
    return refuse(
      [`the pod already has a volume named "${layout.volume.name}" that differs from the one policy "${policy.name}" injects; rename it`],
      ['VolumeNameConflict'],
    );
  }

  const mounts = sandbox.volumeMounts ?? [];
  plan.mounts = layout.mounts.filter((desired) => {
    const existing = mounts.find((mount) => mount.mountPath === desired.mountPath);
    if (existing === undefined || existing.name === desired.name) return true;
    plan.warnings.push(
      `sandbox-storage: container "${sandbox.name}" already mounts volume "${existing.name}" at ${desired.mountPath}; left as is, no storage injected there`,
    );
    return false;
  });
  plan.identity = identity;
  plan.sandbox = sandbox;
  plan.layout = layout;
  if (plan.mounts.length === 0) return plan;

  // Storage that is already there and usable needs no gate; a PVC of someone else is never mounted.
  const claim = layout.claim;
  const state =
    claim && observed
      ? claimState(claim, observed.claims.get(claim.namespace, claim.name), policy.spec.provisioning.adoptExisting, observed.ownershipKey)
      : undefined;
  if (state?.state === 'conflict' || state?.state === 'unproven') {
    return refuse([state.reason], [state.state === 'conflict' ? 'WorkspaceConflict' : 'OwnershipUnproven']);
  }
  // Only a PVC that would be created counts against the quota; Pods of existing workspaces always pass.
  if (claim && observed && state?.state === 'missing') {
    const user = claim.identityLabels[policy.spec.identity.userLabel] ?? '';
    const violation = quotaViolation(policy, claim, provenClaims(observed.ownershipKey, claim.namespace, observed.claims.ofUser(claim.namespace, policy.spec.identity.userLabel, user)));
    if (violation) return refuse([violation]);
  }
  if (state) plan.claimState = state;
  if (claim) plan.claims.push(claim);
  return plan;
}
