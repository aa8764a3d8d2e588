// Whether two policies can select the same Pod: their selectors are satisfiable together unless some label key is
// constrained in contradictory ways. Errs towards "can overlap" (reported), never hides a real overlap.
import type { LabelSelector } from './types.ts';

interface KeyConstraint {
  /** Values the label may take (intersection of = and In); undefined: unconstrained. */
  allowed?: Set<string>;
  forbidden: Set<string>;
  mustExist: boolean;
  mustNotExist: boolean;
}

function constraints(selectors: LabelSelector[]): Map<string, KeyConstraint> {
  const byKey = new Map<string, KeyConstraint>();
  const get = (key: string) => {
    let constraint = byKey.get(key);
    if (!constraint) byKey.set(key, (constraint = { forbidden: new Set(), mustExist: false, mustNotExist: false }));
    return constraint;
  };
  const allow = (constraint: KeyConstraint, values: string[]) => {
    const next = new Set(values);
    constraint.allowed = constraint.allowed ? new Set([...constraint.allowed].filter((value) => next.has(value))) : next;
    constraint.mustExist = true;
  };
  for (const selector of selectors) {
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) allow(get(key), [value]);
    for (const requirement of selector.matchExpressions ?? []) {
      const constraint = get(requirement.key);
      if (requirement.operator === 'In') allow(constraint, requirement.values ?? []);
      else if (requirement.operator === 'NotIn') for (const value of requirement.values ?? []) constraint.forbidden.add(value);
      else if (requirement.operator === 'Exists') constraint.mustExist = true;
      else constraint.mustNotExist = true;
    }
  }
  return byKey;
}

export function selectorsCanOverlap(a: LabelSelector, b: LabelSelector): boolean {
  for (const constraint of constraints([a, b]).values()) {
    if (constraint.mustExist && constraint.mustNotExist) return false;
    if (constraint.allowed && [...constraint.allowed].every((value) => constraint.forbidden.has(value))) return false;
  }
  return true;
}

export function policiesCanOverlap(
  a: { podSelector: LabelSelector; namespaceSelector: LabelSelector },
  b: { podSelector: LabelSelector; namespaceSelector: LabelSelector },
): boolean {
  return selectorsCanOverlap(a.podSelector, b.podSelector) && selectorsCanOverlap(a.namespaceSelector, b.namespaceSelector);
}
