// The planning core: pod + policies + request → mutated pod, warnings, denials and the PVCs to ensure. No I/O.
// The storage itself is planned by planStorage; this applies it, seeds the workspace and gates the Pod.
import type { V1Container, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { Policy } from '../policy/types.ts';
import { hasStorageGate } from './scheduling-gate.ts';
import { holdOf, holdWarning } from './migration-hold.ts';
import type { PlanRequest, PodPlan } from './plan-types.ts';
import { buildSeedInjection, seedContainerName } from './seed-container.ts';
import { selectPolicy } from '../policy/select-policy.ts';
import { containsAll } from './subset.ts';
import { planStorage, type StoragePlan } from './plan-storage.ts';
import { ownershipLabels, storageSchedulingGate } from '../labels.ts';

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
 * shared with the input. The webhook's diff skips identical references, so it walks only what may have
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

  const storage = planStorage(pod, policy, request.namespace, request.claims ? { claims: request.claims, ...(request.ownershipKey ? { ownershipKey: request.ownershipKey } : {}) } : undefined);
  plan.warnings.push(...storage.warnings);
  if (storage.denials.length > 0) {
    plan.denials = storage.denials;
    if (storage.denialReasons) plan.denialReasons = storage.denialReasons;
    return plan;
  }
  const { sandbox: sandboxInput, layout, mounts: keptMounts } = storage as Required<Pick<StoragePlan, 'sandbox' | 'layout' | 'mounts'>>;
  const mutated = copyForMutation(pod, sandboxInput);
  if (keptMounts.length === 0) {
    plan.mutated = mutated as unknown as Record<string, unknown>;
    return plan;
  }
  const sandbox = mutated.spec.containers.find((container) => container.name === sandboxInput.name) as V1Container;
  const volumes: V1Volume[] = mutated.spec.volumes ?? [];
  const mounts: V1VolumeMount[] = sandbox.volumeMounts ?? [];
  const claim = layout.claim;
  const state = storage.claimState;

  upsertByName(volumes, layout.volume);
  mutated.spec.volumes = volumes;
  for (const desired of keptMounts) {
    const index = mounts.findIndex((mount) => mount.mountPath === desired.mountPath);
    if (index < 0) mounts.push(desired);
    else if (!containsAll(mounts[index], desired)) mounts[index] = desired;
  }
  sandbox.volumeMounts = mounts;

  let scriptConfigMap: string | undefined;
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
    // The sandbox sees the home directory the seeder checks, not the volume root (left alone if the Pod set its own).
    if (seed.sandboxMount) {
      const index = mounts.findIndex((mount) => mount.mountPath === seededMount.mountPath && mount.name === seededMount.name);
      const current = index < 0 ? undefined : mounts[index];
      if (current && (current.subPath === undefined || current.subPath === '') && !containsAll(current, seed.sandboxMount)) {
        mounts[index] = { ...current, subPath: seed.sandboxMount.subPath as string };
      }
    }
    if (seed.scriptVolume) upsertByName(volumes, seed.scriptVolume);
    scriptConfigMap = seed.scriptConfigMap;
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
  // unless the controller must first prepare the identity's directories on the shared volume or make the seed
  // script's ConfigMap exist (always gated, whatever spec.provisioning.schedulingGate says: nothing else creates it).
  const prepares = policy.spec.mode === 'shared' && policy.spec.shared.preparation.enabled;
  // A migration copying this identity's data holds the Pod whatever the policy says: no write may race the copy.
  const hold = holdOf(policy, request.namespace, labels);
  if (hold) plan.warnings.push(holdWarning(policy, hold));
  const gated = hold !== undefined || scriptConfigMap !== undefined || (policy.spec.provisioning.schedulingGate && (state?.state !== 'ready' || prepares));
  if (claim && gated && !hasStorageGate(mutated)) {
    mutated.spec.schedulingGates = [...(mutated.spec.schedulingGates ?? []), { name: storageSchedulingGate }];
  }

  mutated.metadata = mutated.metadata ?? {};
  mutated.metadata.annotations = { ...mutated.metadata.annotations, [ownershipLabels.policy]: policy.name };
  if (claim) plan.claims.push(claim);
  if (scriptConfigMap) plan.seedScriptConfigMap = scriptConfigMap;
  plan.mutated = mutated as unknown as Record<string, unknown>;
  return plan;
}
