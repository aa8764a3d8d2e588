// Identity labels are fixed for a governed Pod's lifetime, so that whose Pod it is never changes under anyone's feet.
import { selectorMatches } from '../../policy/selector.ts';
import type { Policy } from '../../policy/types.ts';
import { isObject } from '../../plain-json.ts';
import { ownershipLabels } from '../../labels.ts';

/** The labels that decide whether and as whom a policy governs a Pod: opt-in selector keys and identity labels. */
export function identityLabelKeys(policy: Policy): string[] {
  const { podSelector, identity } = policy.spec;
  const keys = [
    ...Object.keys(podSelector.matchLabels ?? {}),
    ...(podSelector.matchExpressions ?? []).map((requirement) => requirement.key),
    identity.userLabel,
    identity.threadLabel,
  ];
  return [...new Set(keys)];
}

function describe(value: string | undefined): string {
  return value === undefined ? 'absent' : JSON.stringify(value);
}

/** Denials for every identity label an UPDATE adds, changes or removes on a Pod some policy governs (before or after). */
export function identityLabelChanges(
  oldLabels: Record<string, string> | undefined,
  newLabels: Record<string, string> | undefined,
  policies: readonly Policy[],
): string[] {
  const before = oldLabels ?? {};
  const after = newLabels ?? {};
  const denials: string[] = [];
  const reported = new Set<string>();
  for (const policy of policies) {
    if (!selectorMatches(policy.spec.podSelector, before) && !selectorMatches(policy.spec.podSelector, after)) continue;
    for (const key of identityLabelKeys(policy)) {
      const was = Object.hasOwn(before, key) ? before[key] : undefined;
      const now = Object.hasOwn(after, key) ? after[key] : undefined;
      if (was === now || reported.has(key)) continue;
      reported.add(key);
      denials.push(
        `label ${key} cannot change on a pod governed by policy "${policy.name}" (${describe(was)} → ${describe(now)}) [rule IdentityLabelsImmutable]`,
      );
    }
  }
  return denials;
}

function policyAnnotation(pod: unknown): string | undefined {
  const metadata = isObject(pod) && isObject(pod.metadata) ? pod.metadata : {};
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  const value = Object.hasOwn(annotations, ownershipLabels.policy) ? annotations[ownershipLabels.policy] : undefined;
  return value === undefined ? undefined : String(value);
}

/**
 * The policy annotation is the webhook's record of which policy admitted the Pod. At CREATE it must be what the
 * webhook wrote (the selecting policy) or absent; a requester cannot preset it to steer the controller.
 */
export function policyAnnotationDenials(pod: unknown, selected: Policy | undefined): string[] {
  const value = policyAnnotation(pod);
  if (value === undefined || value === selected?.name) return [];
  const expected = selected ? `it is written by the webhook as "${selected.name}"` : 'no policy selects this pod';
  return [`annotation ${ownershipLabels.policy}=${JSON.stringify(value)} is not the requester's to set: ${expected} [rule PolicyAnnotation]`];
}

/** Denial when an UPDATE adds, changes or removes the policy annotation. */
export function policyAnnotationChange(oldPod: unknown, newPod: unknown): string[] {
  const was = policyAnnotation(oldPod);
  const now = policyAnnotation(newPod);
  if (was === now) return [];
  return [`annotation ${ownershipLabels.policy} cannot change (${describe(was)} → ${describe(now)}) [rule PolicyAnnotation]`];
}
