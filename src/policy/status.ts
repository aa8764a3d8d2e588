// The status a policy should show: Ready (serving its latest generation) and Invalid (latest generation rejected),
// with overlaps named. Pure: the writer compares it with what is stored and patches only differences.
import { comparePolicies } from './select-policy.ts';
import { policiesCanOverlap } from './overlap.ts';
import type { PolicyLoadState } from './sources/policy-set.ts';
import type { Policy, PolicyCondition, PolicyStatus } from './types.ts';

function condition(
  type: string,
  status: 'True' | 'False',
  reason: string,
  message: string,
  generation: number,
  previous: readonly PolicyCondition[] | undefined,
  now: Date,
): PolicyCondition {
  const before = previous?.find((existing) => existing.type === type);
  // lastTransitionTime moves only when the status flips (Kubernetes API conventions).
  const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { type, status, observedGeneration: generation, lastTransitionTime, reason, message };
}

export function desiredPolicyStatus(
  state: PolicyLoadState,
  serving: readonly Policy[],
  previous: PolicyStatus | undefined,
  now: Date,
): PolicyStatus {
  const generation = state.generation ?? 0;
  const self = serving.find((policy) => policy.name === state.name);
  const overlaps = self
    ? serving.filter((other) => other.name !== self.name && policiesCanOverlap(self.spec, other.spec))
    : [];
  const describeOverlap = () => {
    const parts = overlaps.map((other) => `${other.name} (${comparePolicies(self as Policy, other) < 0 ? 'this policy wins' : `${other.name} wins`})`);
    return `; can select the same Pods as: ${parts.join(', ')}`;
  };
  const previousConditions = previous?.conditions;
  let ready: PolicyCondition;
  if (state.conflictsWith !== undefined) {
    const others = state.conflictsWith.map((name) => `"${name}"`).join(', ');
    ready = condition('Ready', 'False', 'ConflictsWithPolicy', `not serving: its storage would collide with older policy ${others}`, generation, previousConditions, now);
  } else if (state.ready) {
    ready = overlaps.length > 0
      ? condition('Ready', 'True', 'ServingWithOverlap', `serving generation ${generation}${describeOverlap()}`, generation, previousConditions, now)
      : condition('Ready', 'True', 'Serving', `serving generation ${generation}`, generation, previousConditions, now);
  } else if (state.servingGeneration !== undefined) {
    ready = condition('Ready', 'False', 'ServingPreviousGeneration', `generation ${generation} is invalid; generation ${state.servingGeneration} keeps serving`, generation, previousConditions, now);
  } else {
    ready = condition('Ready', 'False', 'InvalidSpec', 'no valid generation to serve', generation, previousConditions, now);
  }
  const invalid = state.conflictsWith !== undefined
    ? condition('Invalid', 'True', 'ConflictsWithPolicy', state.error ?? 'conflicts with another policy', generation, previousConditions, now)
    : state.ready
    ? condition('Invalid', 'False', 'Valid', 'the spec passed validation', generation, previousConditions, now)
    : condition('Invalid', 'True', 'ValidationFailed', state.error ?? 'invalid', generation, previousConditions, now);
  return { observedGeneration: generation, conditions: [ready, invalid] };
}
