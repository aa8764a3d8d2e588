// The planning core: pod + policies + request → mutated pod, warnings, denials and the PVCs to ensure. No I/O.
import type { V1Container, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { describeSelector } from '../policy/selector.ts';
import type { Policy } from '../policy/types.ts';
import { claimState, provenClaims } from './claim-ownership.ts';
import { readIdentity } from './identity.ts';
import { quotaViolation } from './quota.ts';
import { hasStorageGate } from './scheduling-gate.ts';
import type { PlanRequest, PodPlan } from './plan-types.ts';
import { buildSeedInjection, seedContainerName } from './seed-container.ts';
import { selectPolicy } from '../policy/select-policy.ts';
import { containsAll } from './subset.ts';
import { storageLayout } from './storage-layout.ts';
import { ownershipLabels, storageSchedulingGate } from '../labels.ts';

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

/** Inserts `item` into `list`, or replaces the element of the same name when it lacks something `item` sets. */
function upsertByName<T extends { name: string }>(list: T[], item: T, insertAtStart = false): void {
  const index = list.findIndex((existing) => existing.name === item.name);
  if (index < 0) {
    if (insertAtStart) list.unshift(item);
    else list.push(item);
  } else if (!containsAll(list[index], item)) {
    list[index] = item;
  }
}

/**
 * A copy of the pod in which exactly the objects and arrays planPod changes are new (pod, metadata, spec, its
 * volumes, initContainers and containers arrays, the sandbox container and its volumeMounts); everything else is
 * shared with the input. jsonPatch.compare skips identical references, so the diff walks only what may have
 * changed, and nothing is deep-cloned on the hot path. Change nothing outside these copies: the input must stay
 * untouched (test/unit/plan-pod-copy.test.ts freezes it).
 */
function copyForMutation(pod: V1Pod, sandboxInput: V1Container): V1Pod & { spec: NonNullable<V1Pod['spec']> } {
  const spec = pod.spec as NonNullable<V1Pod['spec']>;
  const copy: V1Pod & { spec: NonNullable<V1Pod['spec']> } = {
    ...pod,
    spec: {
      ...spec,
      containers: spec.containers.map((container) =>
        container === sandboxInput
          ? { ...container, ...(container.volumeMounts ? { volumeMounts: [...container.volumeMounts] } : {}) }
          : container,
      ),
    },
  };
  if (pod.metadata) copy.metadata = { ...pod.metadata };
  if (spec.volumes) copy.spec.volumes = [...spec.volumes];
  if (spec.initContainers) copy.spec.initContainers = [...spec.initContainers];
  return copy;
}

export function planPod(rawPod: unknown, policies: readonly Policy[], request: PlanRequest): PodPlan {
  const pod = rawPod as V1Pod;
  const labels = pod?.metadata?.labels;
  const { policy, alsoMatched } = selectPolicy(policies, labels, request.namespaceLabels);
  if (!policy) return { selected: false, warnings: [], denials: [], claims: [] };

  const plan: PodPlan = { selected: true, policyName: policy.name, warnings: [], denials: [], claims: [] };
  if (alsoMatched.length > 0) {
    plan.warnings.push(`sandbox-storage: policy "${policy.name}" applied; also matching, ignored: ${alsoMatched.join(', ')}`);
  }
  if (request.operation !== 'CREATE') return plan;

  const { identity, denials, reasons } = readIdentity(labels, policy);
  const { container: sandboxInput, denial: containerDenial } = findSandboxContainer(pod, policy);
  if (containerDenial) {
    denials.push(containerDenial);
    reasons.push('ContainerNotFound');
  }
  if (!identity || !sandboxInput || denials.length > 0) {
    plan.denials = denials.map((denial) => `${denial} (selected by ${describeSelector(policy.spec.podSelector)})`);
    plan.denialReasons = reasons;
    return plan;
  }

  const mutated = copyForMutation(pod, sandboxInput);
  const sandbox = mutated.spec.containers.find((container) => container.name === sandboxInput.name) as V1Container;
  const layout = storageLayout(policy, identity, request.namespace);

  const volumes: V1Volume[] = mutated.spec.volumes ?? [];
  const existingVolume = volumes.find((volume) => volume.name === layout.volume.name);
  if (existingVolume && !containsAll(existingVolume, layout.volume)) {
    plan.denials.push(
      `the pod already has a volume named "${layout.volume.name}" that differs from the one policy "${policy.name}" injects; rename it`,
    );
    plan.denialReasons = ['VolumeNameConflict'];
    return plan;
  }

  const mounts: V1VolumeMount[] = sandbox.volumeMounts ?? [];
  const keptMounts = layout.mounts.filter((desired) => {
    const existing = mounts.find((mount) => mount.mountPath === desired.mountPath);
    if (existing === undefined || existing.name === desired.name) return true;
    plan.warnings.push(
      `sandbox-storage: container "${sandbox.name}" already mounts volume "${existing.name}" at ${desired.mountPath}; left as is, no storage injected there`,
    );
    return false;
  });
  if (keptMounts.length === 0) {
    plan.mutated = mutated as unknown as Record<string, unknown>;
    return plan;
  }

  // Storage that is already there and usable needs no gate; a PVC of someone else is never mounted.
  const claim = layout.claim;
  const state =
    claim && request.claims
      ? claimState(claim, request.claims.get(claim.namespace, claim.name), policy.spec.provisioning.adoptExisting, request.ownershipKey)
      : undefined;
  if (state?.state === 'conflict' || state?.state === 'unproven') {
    plan.denials.push(state.reason);
    plan.denialReasons = [state.state === 'conflict' ? 'WorkspaceConflict' : 'OwnershipUnproven'];
    return plan;
  }
  // Only a PVC that would be created counts against the quota; Pods of existing workspaces always pass.
  if (claim && request.claims && state?.state === 'missing') {
    const user = claim.identityLabels[policy.spec.identity.userLabel] ?? '';
    const violation = quotaViolation(policy, claim, provenClaims(request.ownershipKey, claim.namespace, request.claims.ofUser(claim.namespace, policy.spec.identity.userLabel, user)));
    if (violation) {
      plan.denials.push(violation);
      return plan;
    }
  }

  upsertByName(volumes, layout.volume);
  mutated.spec.volumes = volumes;
  for (const desired of keptMounts) {
    const index = mounts.findIndex((mount) => mount.mountPath === desired.mountPath);
    if (index < 0) mounts.push(desired);
    else if (!containsAll(mounts[index], desired)) mounts[index] = desired;
  }
  sandbox.volumeMounts = mounts;

  const seededMount = keptMounts.find((mount) => mount.mountPath === policy.spec.seed.path && !mount.readOnly);
  if (policy.spec.seed.enabled && seededMount) {
    const seed = buildSeedInjection(policy, {
      sandbox,
      podSecurityContext: mutated.spec.securityContext,
      podAnnotations: mutated.metadata?.annotations,
      namespaceLabels: request.namespaceLabels,
      seededMount,
    });
    plan.warnings.push(...seed.warnings);
    if (seed.volume) upsertByName(volumes, seed.volume);
    if (seed.container) {
      const initContainers = mutated.spec.initContainers ?? [];
      // First, so that other init containers already see the seeded /sandbox.
      upsertByName(initContainers, seed.container, true);
      mutated.spec.initContainers = initContainers;
    }
  } else if (policy.spec.seed.enabled) {
    plan.warnings.push(`sandbox-storage: ${policy.spec.seed.path} is not injected, so it is not seeded`);
  } else if ((mutated.spec.initContainers ?? []).some((container) => container.name === seedContainerName)) {
    plan.warnings.push(`sandbox-storage: seeding is off in policy "${policy.name}", but the pod has a ${seedContainerName} init container`);
  }

  // Added at most once; on reinvocation the gate is already there, and once storage is ready it is not added,
  // unless the controller must first prepare the identity's directories on the shared volume.
  const prepares = policy.spec.mode === 'shared' && policy.spec.shared.preparation.enabled;
  if (claim && policy.spec.provisioning.schedulingGate && (state?.state !== 'ready' || prepares) && !hasStorageGate(mutated)) {
    mutated.spec.schedulingGates = [...(mutated.spec.schedulingGates ?? []), { name: storageSchedulingGate }];
  }

  mutated.metadata = mutated.metadata ?? {};
  mutated.metadata.annotations = { ...mutated.metadata.annotations, [ownershipLabels.policy]: policy.name };
  if (claim) plan.claims.push(claim);
  plan.mutated = mutated as unknown as Record<string, unknown>;
  return plan;
}
