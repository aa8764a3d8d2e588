// The validating decision for one Pod request: storage scope, requester binding, identity immutability. Pure.
import { describeSelector, selectorMatches } from '../../policy/selector.ts';
import type { Policy } from '../../policy/types.ts';
import { readIdentity } from '../identity.ts';
import type { RequesterInfo } from '../plan-types.ts';
import { selectPolicy } from '../select-policy.ts';
import { matchRequester } from './exemptions.ts';
import { ephemeralClaimDenials } from './ephemeral-claims.ts';
import { governedVolumes, type ClaimMetadata, type GovernedVolume } from './governed-volumes.ts';
import { identityLabelChanges } from './identity-immutability.ts';
import { mountScopeDenials, type ContainerToCheck, type PodIdentity } from './mount-scope.ts';
import { isObject, list, podLabels, podSpec } from './plain-json.ts';
import { reachDenials, reachedByConnect, reachedByDebug } from './process-reach.ts';
import { requesterBindingDenial } from './requester-binding.ts';

export interface PodValidationInput {
  operation: string;
  /** '' for the pods resource itself, 'ephemeralcontainers' for `kubectl debug`. */
  subResource: string;
  object: unknown;
  oldObject?: unknown;
  /** Labels of the namespace, for policies with a namespaceSelector; undefined when unknown. */
  namespaceLabels?: Record<string, string>;
  userInfo: RequesterInfo;
  claimMetadata: ClaimMetadata;
  /** For CONNECT (exec, attach, portforward): the request's options (PodExecOptions...); `object` is then the Pod. */
  connectOptions?: unknown;
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

function podIdentity(pod: unknown, governing: readonly Policy[], namespaceLabels: Record<string, string> | undefined) {
  const labels = podLabels(pod);
  const { policy } = selectPolicy(governing, labels, namespaceLabels);
  if (!policy) return { denials: [] as string[] };
  const { identity, denials } = readIdentity(labels, policy);
  const selectedBy = ` (selected by ${describeSelector(policy.spec.podSelector)})`;
  return {
    policy,
    owner: identity ? ({ policy, identity } satisfies PodIdentity) : undefined,
    denials: denials.map((denial) => `${denial}${selectedBy}`),
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function exemptionCheck(userInfo: RequesterInfo): (volume: GovernedVolume) => boolean {
  return (volume) => matchRequester(volume.policy.spec.isolation.exemptions, userInfo) !== undefined;
}

/** exec and attach reach a container's files, portforward its ports: for the sandbox's owner or trusted requesters. */
function validateConnect(input: PodValidationInput, governing: readonly Policy[]): PodValidation {
  const { policy, owner } = podIdentity(input.object, governing, input.namespaceLabels);
  const result: PodValidation = { governed: true, denials: [], ...(policy ? { policyName: policy.name } : {}) };
  if (owner) {
    const binding = requesterBindingDenial(owner.policy, owner.identity.user, input.userInfo);
    if (binding) result.denials.push(binding);
  }
  if (input.subResource === 'portforward') return result;
  const spec = podSpec(input.object);
  const options = isObject(input.connectOptions) ? input.connectOptions : {};
  const named = typeof options.container === 'string' && options.container !== '' ? options.container : undefined;
  const into = named === undefined ? 'the pod' : `container ${JSON.stringify(named)}`;
  const governed = governedVolumes(spec.volumes, governing, input.claimMetadata);
  result.denials.push(
    ...reachDenials(reachedByConnect(spec, named), governed, owner, exemptionCheck(input.userInfo), (problem) =>
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
    return { governed: true, denials: identityLabelChanges(podLabels(input.oldObject), podLabels(input.object), governing) };
  }
  if (!isCreate && !isDebug) return { governed: false, denials: [] };

  const { policy, owner, denials } = podIdentity(input.object, governing, input.namespaceLabels);
  const result: PodValidation = { governed: true, denials, ...(policy ? { policyName: policy.name } : {}) };
  if (owner) {
    const binding = requesterBindingDenial(owner.policy, owner.identity.user, input.userInfo);
    if (binding) result.denials.push(binding);
  }

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
  const governed = governedVolumes(spec.volumes, governing, input.claimMetadata);
  const isExempt = exemptionCheck(input.userInfo);
  result.denials.push(...mountScopeDenials(containers, governed, owner, isExempt));
  for (const { container } of isDebug ? containers : []) {
    if (!isObject(container)) continue;
    const name = JSON.stringify(typeof container.name === 'string' ? container.name : '');
    result.denials.push(
      ...reachDenials(reachedByDebug(spec, container), governed, owner, isExempt, (problem) =>
        `ephemeral container ${name} would reach through the shared process namespace what ${problem} [rule DebugReachesForeignMount]`,
      ),
    );
  }
  for (const volume of isCreate ? governed.values() : []) {
    if (volume.kind === 'clone' && !isExempt(volume)) {
      result.denials.push(
        `volume ${JSON.stringify(volume.volumeName)} clones PVC ${JSON.stringify(volume.claimName)}, which policy "${volume.policy.name}" governs [rule GovernedClaimClone]`,
      );
    }
  }
  return result;
}
