// The validating decision for one Pod request: storage scope, requester binding, identity immutability. Pure.
import { describeSelector, selectorMatches } from '../../policy/selector.ts';
import type { Policy } from '../../policy/types.ts';
import { readIdentity } from '../identity.ts';
import type { RequesterInfo } from '../plan-types.ts';
import { selectPolicy } from '../../policy/select-policy.ts';
import { governedVolumes, type ClaimMetadata, type StorageFacts } from './governed-volumes.ts';
import { identityLabelChanges, policyAnnotationChange, policyAnnotationDenials } from './identity-immutability.ts';
import { exemptFrom, mountScopeDenials, type ContainerToCheck } from './mount-scope.ts';
import { ephemeralClaimDenials } from './ephemeral-claims.ts';
import { isObject, list, podLabels, podSpec } from '../../plain-json.ts';
import { reachDenials, reachedByConnect, reachedByDebug } from './process-reach.ts';
import { requesterBindingDenial } from './requester-binding.ts';
import { storageGateRemovalDenials } from './storage-gate-hold.ts';

export interface PodValidationInput {
  operation: string;
  /** '' for the pods resource itself, 'ephemeralcontainers' for `kubectl debug`. */
  subResource: string;
  object: unknown;
  oldObject?: unknown;
  /** Labels of the namespace, for policies with a namespaceSelector; undefined when unknown. */
  namespaceLabels?: Record<string, string>;
  userInfo: RequesterInfo;
  /** The request's namespace: ownership proofs name it. */
  namespace?: string;
  claimMetadata: ClaimMetadata;
  /** The key that checks PVC ownership proofs; without it no existing workspace PVC counts as proven. */
  ownershipKey?: Uint8Array;
  /** For CONNECT (exec, attach, portforward): the request's options (PodExecOptions...); `object` is then the Pod. */
  connectOptions?: unknown;
  /** The controller's username, the one requester that lifts the storage gate; undefined when unknown (nobody). */
  controllerUsername?: string;
}

/** Pod subresources a CONNECT request reaches a running sandbox through. */
export const connectSubResources = ['exec', 'attach', 'portforward'];

export interface PodValidation {
  /** False when no policy governs the namespace, or the request is not one this webhook judges. */
  governed: boolean;
  /** The policy that selected the Pod as a sandbox, if any. */
  policyName?: string;
  denials: string[];
  /** True when every policy governing the namespace is in audit mode: denials are reported, not enforced. */
  auditOnly?: boolean;
  /** The rule of each denial (CamelCase, e.g. SharedSubPathScope), for metrics. */
  denialReasons?: string[];
}

/** Policies whose namespaceSelector takes in the request's namespace (unknown labels: only selector-less ones). */
export function governingPolicies(policies: readonly Policy[], namespaceLabels: Record<string, string> | undefined): Policy[] {
  return policies.filter((policy) => {
    const selector = policy.spec.namespaceSelector;
    const empty = Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
    return empty || (namespaceLabels !== undefined && selectorMatches(selector, namespaceLabels));
  });
}

/** The identity a Pod's labels give it under the policy that selects it (most specific first), and its denials. */
function podIdentity(pod: unknown, governing: readonly Policy[], namespaceLabels: Record<string, string> | undefined) {
  const labels = podLabels(pod);
  const { policy } = selectPolicy(governing, labels, namespaceLabels);
  if (!policy) return { denials: [] as string[] };
  const { identity, denials } = readIdentity(labels, policy);
  const selectedBy = ` (selected by ${describeSelector(policy.spec.podSelector)})`;
  return { policy, identity, denials: denials.map((denial) => `${denial}${selectedBy}`) };
}

/**
 * Requester binding holds across every policy of the namespace: the user ids the Pod claims (under each policy that
 * selects it) must be the requester's own under every policy that enforces binding, selecting or not. A label that
 * makes a laxer policy select the Pod, or a policy with other label keys, cannot lift another policy's binding.
 */
function bindingDenials(pod: unknown, governing: readonly Policy[], requester: RequesterInfo): string[] {
  const labels = podLabels(pod);
  const users = new Set<string>();
  for (const policy of governing) {
    if (!selectorMatches(policy.spec.podSelector, labels)) continue;
    const { identity } = readIdentity(labels, policy);
    if (identity) users.add(identity.user);
  }
  const denials = new Set<string>();
  for (const policy of governing) {
    for (const user of users) {
      const denial = requesterBindingDenial(policy, user, requester);
      if (denial) denials.add(denial);
    }
  }
  return [...denials];
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function storageFacts(input: PodValidationInput): StorageFacts {
  return {
    namespace: input.namespace ?? '',
    claimMetadata: input.claimMetadata,
    ...(input.ownershipKey ? { ownershipKey: input.ownershipKey } : {}),
  };
}

/** exec and attach reach a container's files, portforward its ports: for the sandbox's owner or trusted requesters. */
function validateConnect(input: PodValidationInput, governing: readonly Policy[]): PodValidation {
  const { policy } = podIdentity(input.object, governing, input.namespaceLabels);
  const result: PodValidation = { governed: true, denials: [], ...(policy ? { policyName: policy.name } : {}) };
  result.denials.push(...bindingDenials(input.object, governing, input.userInfo));
  if (input.subResource === 'portforward') return result;
  const spec = podSpec(input.object);
  const options = isObject(input.connectOptions) ? input.connectOptions : {};
  const named = typeof options.container === 'string' && options.container !== '' ? options.container : undefined;
  const into = named === undefined ? 'the pod' : `container ${JSON.stringify(named)}`;
  const governed = governedVolumes(spec.volumes, governing, storageFacts(input));
  const context = { podLabels: podLabels(input.object), requester: input.userInfo };
  result.denials.push(
    ...reachDenials(reachedByConnect(spec, named), governed, context, (problem) =>
      `${input.subResource} into ${into} would reach what ${problem} [rule ConnectReachesForeignMount]`,
    ),
  );
  return result;
}

export function validatePod(input: PodValidationInput, policies: readonly Policy[]): PodValidation {
  const governing = governingPolicies(policies, input.namespaceLabels);
  if (governing.length === 0) return { governed: false, denials: [] };
  const validation = judge(input, governing);
  if (validation.denials.length > 0) {
    // Denials without a rule tag come from reading the identity labels.
    validation.denialReasons = validation.denials.map((denial) => /\[rule (\w+)/.exec(denial)?.[1] ?? 'InvalidIdentity');
  }
  // One enforcing policy is enough to enforce: isolation must not depend on which policy a volume belongs to.
  if (governing.every((policy) => policy.spec.enforcement === 'audit')) validation.auditOnly = true;
  return validation;
}

function judge(input: PodValidationInput, governing: readonly Policy[]): PodValidation {
  if (input.operation === 'CONNECT') {
    return connectSubResources.includes(input.subResource) ? validateConnect(input, governing) : { governed: false, denials: [] };
  }
  const isCreate = input.operation === 'CREATE' && input.subResource === '';
  const isDebug = input.operation === 'UPDATE' && input.subResource === 'ephemeralcontainers';
  const isUpdate = input.operation === 'UPDATE' && input.subResource === '';

  if (isUpdate) {
    const denials = [
      ...identityLabelChanges(podLabels(input.oldObject), podLabels(input.object), governing),
      ...policyAnnotationChange(input.oldObject, input.object),
      ...storageGateRemovalDenials(input, governing),
    ];
    return { governed: true, denials };
  }
  if (!isCreate && !isDebug) return { governed: false, denials: [] };

  const { policy, denials } = podIdentity(input.object, governing, input.namespaceLabels);
  const result: PodValidation = { governed: true, denials, ...(policy ? { policyName: policy.name } : {}) };
  result.denials.push(...bindingDenials(input.object, governing, input.userInfo));
  if (isCreate) result.denials.push(...policyAnnotationDenials(input.object, policy));

  const spec = podSpec(input.object);
  if (isCreate) result.denials.push(...ephemeralClaimDenials(input.object, governing, input.userInfo));
  let containers: ContainerToCheck[];
  if (isCreate) {
    containers = [
      ...list(spec.initContainers).map((container) => ({ role: 'init container', container })),
      ...list(spec.containers).map((container) => ({ role: 'container', container })),
      ...list(spec.ephemeralContainers).map((container) => ({ role: 'ephemeral container', container })),
    ];
  } else {
    // Only what this request adds: the Pod's other containers were judged when it was created.
    const before = list(podSpec(input.oldObject).ephemeralContainers);
    containers = list(spec.ephemeralContainers)
      .filter((container) => !before.some((old) => sameJson(old, container)))
      .map((container) => ({ role: 'ephemeral container', container }));
  }
  const governed = governedVolumes(spec.volumes, governing, storageFacts(input));
  const context = { podLabels: podLabels(input.object), requester: input.userInfo };
  result.denials.push(...mountScopeDenials(containers, governed, context));
  for (const { container } of isDebug ? containers : []) {
    if (!isObject(container)) continue;
    const name = JSON.stringify(typeof container.name === 'string' ? container.name : '');
    result.denials.push(
      ...reachDenials(reachedByDebug(spec, container), governed, context, (problem) =>
        `ephemeral container ${name} would reach through the shared process namespace what ${problem} [rule DebugReachesForeignMount]`,
      ),
    );
  }
  for (const volume of isCreate ? governed.values() : []) {
    if (volume.kind === 'clone' && !exemptFrom(volume, input.userInfo)) {
      const owners = volume.owners.map((owner) => `"${owner.name}"`).join(', ');
      result.denials.push(
        `volume ${JSON.stringify(volume.volumeName)} clones PVC ${JSON.stringify(volume.claimName)}, which policy ${owners} governs [rule GovernedClaimClone]`,
      );
    }
  }
  return result;
}
