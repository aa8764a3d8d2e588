// Admission with directory preparation (pure core): a shared-mode Pod of a policy that prepares directories is held
// behind the storage gate even when the shared PVC exists, and a seeder that would run as the sandbox user on a
// shared volume without preparation is warned about.
import jsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { type AdmissionRequest } from '../../src/webhook/review.ts';
import type { ClaimLookup } from '../../src/admission/plan-types.ts';
import { planPod } from '../../src/admission/plan-pod.ts';
import type { Policy } from '../../src/policy/types.ts';
import { admissionReviewFor, decodePatch, policyFrom, sandboxPod } from '../fixtures/pods.ts';
import { reviewPodMutation } from '../../src/webhook/mutate.ts';

const gate = { name: 'sandbox-storage.io/storage' };
const shared = (preparation: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  policyFrom({ mode: 'shared', shared: { claimName: 'team-share', preparation }, ...extra }, 'shared');
const preparing = shared({ enabled: true, claimName: 'admin-share' });
/** The shared PVC exists: without preparation the Pod would not be gated. */
const sharedExists: ClaimLookup = {
  get: (namespace, name) =>
    namespace === 'agents' && name === 'team-share' ? { name, labels: {}, annotations: {}, deleting: false, requestedBytes: 0 } : undefined,
  ofUser: () => [],
};

function review(pod: unknown, policy: Policy, request: Record<string, unknown> = {}) {
  const body = admissionReviewFor(pod, request);
  const outcome = reviewPodMutation(body.request as AdmissionRequest, { policies: [policy], claims: sharedExists });
  const patch = decodePatch(outcome.review.response.patch) as jsonPatch.Operation[];
  const mutated = jsonPatch.applyPatch(structuredClone(pod), patch, true, false).newDocument as ReturnType<typeof sandboxPod> & {
    spec: { schedulingGates?: unknown[] };
  };
  return { response: outcome.review.response, patch, mutated };
}

/** A sandbox Pod as a restricted namespace admits it: non-root uid 1000, gid 2000. */
function restrictedPod() {
  return sandboxPod({
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'sandbox',
          image: 'registry.example/sandbox:1',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });
}

const preparationWarning = /the seeder runs as the sandbox user on the shared volume, but kubelet creates a missing subPath directory as root/;

describe('scheduling gate with directory preparation', () => {
  it('gates a shared-mode Pod although its shared PVC exists, and only once on reinvocation', () => {
    expect(review(sandboxPod(), shared({}, { seed: { scriptDelivery: 'inline' } })).mutated.spec.schedulingGates).toBeUndefined();
    const first = review(sandboxPod(), preparing);
    expect(first.mutated.spec.schedulingGates).toEqual([gate]);
    expect(review(first.mutated, preparing).patch).toEqual([]);
  });

  it('the planning core says the same: the gate is added, the shared claim planned', () => {
    const plan = planPod(sandboxPod(), [preparing], { operation: 'CREATE', namespace: 'agents', dryRun: false, userInfo: {}, claims: sharedExists });
    expect((plan.mutated as { spec: { schedulingGates?: unknown[] } }).spec.schedulingGates).toEqual([gate]);
    expect(plan.claims.map((claim) => claim.name)).toEqual(['team-share']);
  });
});

describe('warning when the seeder runs as the sandbox user on a shared volume without preparation', () => {
  const restrictedNamespace = { namespaceLabels: { 'pod-security.kubernetes.io/enforce': 'restricted' } };

  it('warns under a restricted namespace (labels known) and for a Pod that declares runAsNonRoot', () => {
    const labelled = planPod(restrictedPod(), [shared()], { operation: 'CREATE', namespace: 'agents', dryRun: false, userInfo: {}, ...restrictedNamespace });
    expect(labelled.warnings.some((warning) => preparationWarning.test(warning))).toBe(true);
    const { response } = review(restrictedPod(), shared());
    expect(response.warnings?.some((warning) => preparationWarning.test(warning))).toBe(true);
    expect(response.warnings?.find((warning) => preparationWarning.test(warning))).toContain('enable spec.shared.preparation in policy "shared"');
  });

  it('warns with runAs sandboxUser even where root would be allowed', () => {
    const policy = shared({}, { seed: { runAs: 'sandboxUser' } });
    const pod = sandboxPod({ spec: { securityContext: { runAsUser: 1000 }, containers: [{ name: 'sandbox', image: 'i' }] } });
    expect(review(pod, policy).response.warnings?.some((warning) => preparationWarning.test(warning))).toBe(true);
  });

  it('does not warn with preparation enabled, with a root seeder, in workspace mode, or when nothing says the sandbox is not root', () => {
    expect(review(restrictedPod(), preparing).response.warnings ?? []).toEqual([]);
    const rootSeeder = sandboxPod({ spec: { securityContext: { runAsUser: 1000, runAsGroup: 1000 }, containers: [{ name: 'sandbox', image: 'i' }] } });
    expect(review(rootSeeder, shared()).response.warnings ?? []).toEqual([]);
    expect(review(restrictedPod(), policyFrom({}, 'workspace')).response.warnings ?? []).toEqual([]);
    expect(review(sandboxPod(), shared()).response.warnings ?? []).toEqual([]);
  });
});
