// planPod shares every part of the Pod it does not change with its input (so that the diff skips them by
// identity): these tests freeze the input deeply, so any change to a shared part throws instead of silently
// vanishing from the patch.
import { describe, expect, it } from 'vitest';
import jsonPatch from 'fast-json-patch';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { admissionReviewFor, decodePatch, sandboxPod } from '../fixtures/pods.ts';
import { reviewPodMutation } from '../../src/webhook/mutate.ts';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const spec = {
  securityContext: { runAsUser: 1000, fsGroup: 2000 },
  volumes: [{ name: 'cache', emptyDir: {} }],
  initContainers: [{ name: 'setup', image: 'registry.example/setup:1' }],
  containers: [
    { name: 'sandbox', image: 'registry.example/sandbox:1', volumeMounts: [{ name: 'cache', mountPath: '/cache' }], resources: { limits: { cpu: '1' } } },
    { name: 'proxy', image: 'registry.example/proxy:1', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] },
  ],
};

function mutate(pod: unknown) {
  const request = admissionReviewFor(pod).request;
  const outcome = reviewPodMutation(request as never, { policies: embeddedDefaultPolicies() });
  return { outcome, patch: decodePatch(outcome.review.response.patch) };
}

describe('planPod leaves its input untouched, whatever the Pod already has', () => {
  it.each([
    ['a minimal sandbox pod', sandboxPod()],
    ['a pod with volumes, mounts, init containers and a second container', sandboxPod({ spec })],
  ])('%s', (_label, pod) => {
    const original = structuredClone(pod);
    const { outcome, patch } = mutate(deepFreeze(pod));
    expect(outcome.result).toBe('mutated');
    expect(pod).toEqual(original);
    // The patch applied to the input gives exactly the planned Pod.
    const applied = jsonPatch.applyPatch(structuredClone(original), patch as jsonPatch.Operation[]).newDocument;
    expect(applied).toEqual(outcome.plan?.mutated);
  });

  it('on reinvocation, with our injection already there and extended by the API server', () => {
    const first = mutate(sandboxPod({ spec }));
    const injected = structuredClone(first.outcome.plan?.mutated) as { spec: { initContainers: Array<Record<string, unknown>> } };
    injected.spec.initContainers[0]!.terminationMessagePath = '/dev/termination-log';
    const again = mutate(deepFreeze(injected));
    expect(again.outcome.result).toBe('unchanged');
    expect(again.patch).toEqual([]);
  });
});
