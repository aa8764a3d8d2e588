// Which policy governs a Pod when several match: the most specific one (most selector requirements, pod and
// namespace selectors together), then the first by name. Deterministic, so every replica decides alike.
import { selectorMatches } from './selector.ts';
import type { Policy } from './types.ts';

export interface PolicySelection {
  policy?: Policy;
  /** Other policies that also matched; reported so admins can remove the overlap. */
  alsoMatched: string[];
}

function requirementCount(selector: { matchLabels?: object; matchExpressions?: unknown[] }): number {
  return Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length;
}

function hasSelector(selector: { matchLabels?: object; matchExpressions?: unknown[] }): boolean {
  return requirementCount(selector) > 0;
}

/** Higher is more specific. */
export function policySpecificity(policy: Policy): number {
  return requirementCount(policy.spec.podSelector) + requirementCount(policy.spec.namespaceSelector);
}

/** Precedence order: most specific first, then by name. */
export function comparePolicies(a: Policy, b: Policy): number {
  return policySpecificity(b) - policySpecificity(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

export function selectPolicy(
  policies: readonly Policy[],
  podLabels: Record<string, string> | undefined,
  namespaceLabels: Record<string, string> | undefined,
): PolicySelection {
  const matching = policies
    .filter((policy) => selectorMatches(policy.spec.podSelector, podLabels))
    .filter((policy) =>
      // Unknown namespace labels only satisfy a policy that selects every namespace.
      namespaceLabels === undefined
        ? !hasSelector(policy.spec.namespaceSelector)
        : selectorMatches(policy.spec.namespaceSelector, namespaceLabels),
    )
    .sort(comparePolicies);
  return { policy: matching[0], alsoMatched: matching.slice(1).map((policy) => policy.name) };
}

/** True when a policy selects these Pod labels and still needs the namespace's labels to decide. */
export function needsNamespaceLabels(policies: readonly Policy[], podLabels: Record<string, string> | undefined): boolean {
  return policies.some(
    (policy) => hasSelector(policy.spec.namespaceSelector) && selectorMatches(policy.spec.podSelector, podLabels),
  );
}

/** True when some policy can only be decided with namespace labels, i.e. the server needs cluster access. */
export function usesNamespaceSelector(policies: readonly Policy[]): boolean {
  return policies.some((policy) => hasSelector(policy.spec.namespaceSelector));
}
