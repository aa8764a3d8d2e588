// The validating decision for one Pod request: storage scope, requester binding, identity immutability. Pure.
import { describeSelector, selectorMatches } from '../../policy/selector.ts';
import type { Policy } from '../../policy/types.ts';
import { readIdentity } from '../identity.ts';
import type { RequesterInfo } from '../plan-types.ts';
import { selectPolicy } from '../select-policy.ts';
import { matchRequester } from './exemptions.ts';
import { governedVolumes, type ClaimLabels } from './governed-volumes.ts';
import { identityLabelChanges } from './identity-immutability.ts';
import { mountScopeDenials, type ContainerToCheck, type PodIdentity } from './mount-scope.ts';
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
  claimLabels: ClaimLabels;
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
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Only string-valued labels count; anything else in a malformed object is ignored, never trusted. */
export function podLabels(pod: unknown): Record<string, string> {
  const metadata = isObject(pod) && isObject(pod.metadata) ? pod.metadata : {};
  const labels = isObject(metadata.labels) ? metadata.labels : {};
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') result[key] = value;
  return result;
}

function podSpec(pod: unknown): Record<string, unknown> {
  return isObject(pod) && isObject(pod.spec) ? pod.spec : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
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

/**
 * An ephemeral container that targets a container (or joins a shared process namespace) can read that container's
 * files through /proc/PID/root, so the requester must be entitled to every governed mount it can reach that way.
 */
function reachableMountDenials(
  added: readonly ContainerToCheck[],
  spec: Record<string, unknown>,
  governed: ReturnType<typeof governedVolumes>,
  owner: PodIdentity | undefined,
  isExempt: (volume: { policy: Policy }) => boolean,
): string[] {
  const denials: string[] = [];
  const others = [...list(spec.initContainers), ...list(spec.containers)].filter(isObject);
  for (const { container } of added) {
    if (!isObject(container)) continue;
    const target = typeof container.targetContainerName === 'string' ? container.targetContainerName : '';
    const reachable = spec.shareProcessNamespace === true ? others : others.filter((other) => target !== '' && other.name === target);
    const problems = mountScopeDenials(
      reachable.map((other) => ({ role: 'container', container: other })),
      governed,
      owner,
      isExempt,
    );
    const name = JSON.stringify(typeof container.name === 'string' ? container.name : '');
    for (const problem of problems) {
      denials.push(`ephemeral container ${name} would reach through the shared process namespace what ${problem} [rule DebugReachesForeignMount]`);
    }
  }
  return denials;
}

/**
 * exec and attach reach a container's files (and, with a shared process namespace, every container's); portforward
 * reaches its ports. The requester must be the sandbox's owner (or trusted) and entitled to every governed mount.
 */
function validateConnect(input: PodValidationInput, governing: readonly Policy[]): PodValidation {
  const { policy, owner } = podIdentity(input.object, governing, input.namespaceLabels);
  const result: PodValidation = { governed: true, denials: [], ...(policy ? { policyName: policy.name } : {}) };
  if (owner) {
    const binding = requesterBindingDenial(owner.policy, owner.identity.user, input.userInfo);
    if (binding) result.denials.push(binding);
  }
  if (input.subResource === 'portforward') return result;
  const spec = podSpec(input.object);
  const all = [...list(spec.initContainers), ...list(spec.containers), ...list(spec.ephemeralContainers)].filter(isObject);
  const options = isObject(input.connectOptions) ? input.connectOptions : {};
  const named = typeof options.container === 'string' && options.container !== '' ? options.container : undefined;
  const reachable = spec.shareProcessNamespace === true || named === undefined ? all : all.filter((container) => container.name === named);
  const governed = governedVolumes(spec.volumes, governing, input.claimLabels);
  const isExempt = (volume: { policy: Policy }) => matchRequester(volume.policy.spec.isolation.exemptions, input.userInfo) !== undefined;
  const problems = mountScopeDenials(
    reachable.map((container) => ({ role: 'container', container })),
    governed,
    owner,
    isExempt,
  );
  const into = named === undefined ? 'the pod' : `container ${JSON.stringify(named)}`;
  for (const problem of problems) {
    result.denials.push(`${input.subResource} into ${into} would reach what ${problem} [rule ConnectReachesForeignMount]`);
  }
  return result;
}

export function validatePod(input: PodValidationInput, policies: readonly Policy[]): PodValidation {
  const governing = governingPolicies(policies, input.namespaceLabels);
  if (governing.length === 0) return { governed: false, denials: [] };
  const validation = judge(input, governing);
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
  const governed = governedVolumes(spec.volumes, governing, input.claimLabels);
  const isExempt = (volume: { policy: Policy }) => matchRequester(volume.policy.spec.isolation.exemptions, input.userInfo) !== undefined;
  result.denials.push(...mountScopeDenials(containers, governed, owner, isExempt));
  if (isDebug) result.denials.push(...reachableMountDenials(containers, spec, governed, owner, isExempt));
  for (const volume of isCreate ? governed.values() : []) {
    if (volume.kind === 'clone' && !isExempt(volume)) {
      result.denials.push(
        `volume ${JSON.stringify(volume.volumeName)} clones PVC ${JSON.stringify(volume.claimName)}, which policy "${volume.policy.name}" governs [rule GovernedClaimClone]`,
      );
    }
  }
  return result;
}
