import jsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { type AdmissionRequest } from '../../src/webhook/review.ts';
import { claimState } from '../../src/admission/claim-ownership.ts';
import { claimStatement, ownershipProof } from '../../src/admission/ownership-proof.ts';
import type { ClaimLookup, ClaimPlan, ObservedClaim } from '../../src/admission/plan-types.ts';
import { planPod } from '../../src/admission/plan-pod.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import type { Policy } from '../../src/policy/types.ts';
import { admissionReviewFor, decodePatch, policyFrom, sandboxPod } from '../fixtures/pods.ts';
import { ownershipProofAnnotation } from '../../src/labels.ts';
import { reviewPodMutation } from '../../src/webhook/mutate.ts';

const defaults = embeddedDefaultPolicies();
const request = { operation: 'CREATE', namespace: 'agents', dryRun: false, userInfo: {} };

function plannedClaim(policies: Policy[] = defaults, pod: unknown = sandboxPod()) {
  const claim = planPod(pod, policies, request).claims[0];
  if (!claim) throw new Error('no claim planned');
  return claim;
}

const key = new Uint8Array(32).fill(7);

/** The PVC as the controller creates it for `claim` (with its proof), unless `changes` say otherwise. */
function observed(claim: ClaimPlan, changes: Partial<ObservedClaim> = {}): ObservedClaim {
  const annotations = { [ownershipProofAnnotation]: ownershipProof(key, claimStatement(claim)) };
  return { name: claim.name, labels: { ...claim.labels }, annotations, deleting: false, requestedBytes: 2 * 2 ** 30, ...changes };
}

function lookupOf(...claims: ObservedClaim[]): ClaimLookup {
  return {
    get: (namespace, name) => (namespace === 'agents' ? claims.find((claim) => claim.name === name) : undefined),
    ofUser: (namespace, userLabel, user) =>
      namespace === 'agents'
        ? claims.filter((claim) => claim.labels[userLabel] === user && claim.labels['app.kubernetes.io/managed-by'] === 'sandbox-storage-webhook')
        : [],
  };
}

function review(pod: unknown, policies: Policy[], claims?: ClaimLookup, withKey = true) {
  const ownershipKey = withKey ? key : undefined;
  const body = admissionReviewFor(pod);
  const outcome = reviewPodMutation(body.request as AdmissionRequest, { policies, ...(claims ? { claims } : {}), ...(ownershipKey ? { ownershipKey } : {}) });
  return { response: outcome.review.response, patch: decodePatch(outcome.review.response.patch) as jsonPatch.Operation[] };
}

const gates = (pod: unknown, patch: jsonPatch.Operation[]) =>
  (jsonPatch.applyPatch(structuredClone(pod), patch, true, false).newDocument as { spec: { schedulingGates?: unknown[] } }).spec
    .schedulingGates;

describe('scheduling gate', () => {
  it('gates a pod whose PVC does not exist yet, and when nothing is known about PVCs', () => {
    for (const claims of [undefined, lookupOf()]) {
      const { patch } = review(sandboxPod(), defaults, claims);
      expect(gates(sandboxPod(), patch)).toEqual([{ name: 'sandbox-storage.io/storage' }]);
    }
  });

  it('does not gate a pod whose PVC exists and is ours for this identity, when the seed script comes inline or from an image', () => {
    for (const seed of [{ scriptDelivery: 'inline' }, { scriptDelivery: 'imageVolume', scriptImage: `registry.example/sandbox-storage@sha256:${'a'.repeat(64)}` }]) {
      const policy = [policyFrom({ seed })];
      const { patch } = review(sandboxPod(), policy, lookupOf(observed(plannedClaim(policy))));
      expect(gates(sandboxPod(), patch)).toBeUndefined();
    }
  });

  it('gates a pod that mounts the seed-script ConfigMap (the default) even when its PVC is ready: only the controller creates it', () => {
    const { patch } = review(sandboxPod(), defaults, lookupOf(observed(plannedClaim())));
    expect(gates(sandboxPod(), patch)).toEqual([{ name: 'sandbox-storage.io/storage' }]);
  });

  it('gates for the seed-script ConfigMap even when the policy turns the storage gate off, in shared mode as well', () => {
    const sharedReady: ClaimLookup = { get: (_, name) => ({ name, labels: {}, annotations: {}, deleting: false, requestedBytes: 0 }), ofUser: () => [] };
    for (const [spec, claims] of [[{ provisioning: { schedulingGate: false } }, undefined], [{ mode: 'shared', shared: { claimName: 'team-share' } }, sharedReady]] as const) {
      const policy = [policyFrom(spec)];
      const { patch } = review(sandboxPod(), policy, claims);
      expect(patch.length).toBeGreaterThan(0);
      expect(gates(sandboxPod(), patch), JSON.stringify(spec)).toEqual([{ name: 'sandbox-storage.io/storage' }]);
    }
  });

  it('keeps gates of other parties and never adds ours twice on reinvocation', () => {
    const pod = sandboxPod();
    (pod.spec as { schedulingGates?: unknown[] }).schedulingGates = [{ name: 'example.com/quota' }];
    const first = review(pod, defaults);
    const once = jsonPatch.applyPatch(structuredClone(pod), first.patch, true, false).newDocument;
    expect(gates(pod, first.patch)).toEqual([{ name: 'example.com/quota' }, { name: 'sandbox-storage.io/storage' }]);
    // Second pass, even after the PVC appeared meanwhile: no patch at all.
    expect(review(once, defaults).patch).toEqual([]);
    expect(review(once, defaults, lookupOf(observed(plannedClaim()))).patch).toEqual([]);
  });

  it('is not added when the policy turns it off', () => {
    const policy = policyFrom({ provisioning: { schedulingGate: false }, seed: { scriptDelivery: 'inline' } });
    const { patch } = review(sandboxPod(), [policy]);
    expect(patch.length).toBeGreaterThan(0);
    expect(gates(sandboxPod(), patch)).toBeUndefined();
  });

  it('gates while a PVC of that name is being deleted', () => {
    const { patch } = review(sandboxPod(), defaults, lookupOf(observed(plannedClaim(), { deleting: true })));
    expect(gates(sandboxPod(), patch)).toEqual([{ name: 'sandbox-storage.io/storage' }]);
  });
});

describe('ownership (anti-hijack)', () => {
  it('denies a pod whose planned PVC was provably made for another identity, naming the PVC and why', () => {
    const claim = plannedClaim();
    const other = { ...claim, labels: { ...claim.labels, 'sandbox-storage.io/identity-hash': 'someoneelse' } };
    const { response } = review(sandboxPod(), defaults, lookupOf(observed(other)));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain(`PVC ${claim.name} exists but was provisioned for another identity`);
  });

  it("denies a pod whose planned PVC carries this identity's labels but no proof, a forged proof or another plan's proof", () => {
    const claim = plannedClaim();
    const forgeries: Record<string, ObservedClaim> = {
      'no proof': observed(claim, { annotations: {} }),
      'a made-up proof': observed(claim, { annotations: { [ownershipProofAnnotation]: 'v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } }),
      'a proof under another key': observed(claim, {
        annotations: { [ownershipProofAnnotation]: ownershipProof(new Uint8Array(32).fill(8), claimStatement(claim)) },
      }),
      "the proof of another namespace's PVC of that name": observed(claim, {
        annotations: { [ownershipProofAnnotation]: ownershipProof(key, { ...claimStatement(claim), namespace: 'elsewhere' }) },
      }),
      "another policy's proof": observed(claim, {
        annotations: { [ownershipProofAnnotation]: ownershipProof(key, { ...claimStatement(claim), policy: 'other' }) },
      }),
    };
    for (const [what, forged] of Object.entries(forgeries)) {
      const { response } = review(sandboxPod(), defaults, lookupOf(forged));
      expect(response.allowed, what).toBe(false);
      expect(response.status?.message, what).toContain(`PVC ${claim.name} carries no valid ownership proof (annotation sandbox-storage.io/ownership-proof)`);
      expect(response.status?.message, what).toContain('label app.kubernetes.io/managed-by=sandbox-storage-webhook');
      // Forged ownership marks are never adoptable, whatever the policy says.
      expect(claimState(claim, forged, true, key).state, what).toBe('unproven');
    }
    expect(claimState(claim, observed(claim), false, key)).toEqual({ state: 'ready' });
  });

  it('without the ownership key nothing is proven: an existing PVC is refused, a missing one is still gated', () => {
    const claim = plannedClaim();
    const denied = review(sandboxPod(), defaults, lookupOf(observed(claim)), false);
    expect(denied.response.allowed).toBe(false);
    expect(denied.response.status?.message).toContain(`PVC ${claim.name} carries no valid ownership proof`);
    expect(denied.response.status?.message).toContain('the ownership key has not been read yet');
    const { patch } = review(sandboxPod(), defaults, lookupOf(), false);
    expect(gates(sandboxPod(), patch)).toEqual([{ name: 'sandbox-storage.io/storage' }]);
  });

  it('denies a pod whose planned PVC was created by someone else with other labels', () => {
    const claim = plannedClaim();
    const foreign = observed(claim, { labels: { 'sandbox-storage.io/user': 'mallory' }, annotations: {} });
    const { response } = review(sandboxPod(), defaults, lookupOf(foreign));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain(`PVC ${claim.name} carries no valid ownership proof (annotation sandbox-storage.io/ownership-proof) and belongs to someone else (sandbox-storage.io/user=mallory`);
  });

  it('adopts a PVC with the right identity labels only when the policy allows it', () => {
    const claim = plannedClaim();
    const unmanaged = observed(claim, { labels: { 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': 't1' }, annotations: {} });
    const refused = review(sandboxPod(), defaults, lookupOf(unmanaged));
    expect(refused.response.allowed).toBe(false);
    expect(refused.response.status?.message).toContain('spec.provisioning.adoptExisting: false');

    const adopting = [policyFrom({ provisioning: { adoptExisting: true } }, 'default')];
    const allowed = review(sandboxPod(), adopting, lookupOf(unmanaged));
    expect(allowed.response.allowed).toBe(true);
    // Gated until the controller has taken it over.
    expect(gates(sandboxPod(), allowed.patch)).toEqual([{ name: 'sandbox-storage.io/storage' }]);
    expect(claimState(claim, unmanaged, true, key)).toEqual({ state: 'adoptable' });
  });

  it('a shared PVC is usable by every identity once it exists', () => {
    const shared = policyFrom({ mode: 'shared', shared: { claimName: 'team' } });
    const claim = plannedClaim([shared]);
    // The admin's PVC (createIfMissing: false) is trusted by name, with or without a key.
    expect(claimState(claim, observed(claim, { labels: {}, annotations: {} }), false)).toEqual({ state: 'ready' });
    expect(claimState(claim, undefined, false)).toEqual({ state: 'missing', terminating: false });
  });

  it('a shared PVC the controller creates is ready only with its proof', () => {
    const shared = policyFrom({ mode: 'shared', shared: { claimName: 'team' }, provisioning: { shared: { createIfMissing: true } } });
    const claim = plannedClaim([shared]);
    expect(claimState(claim, observed(claim), false, key)).toEqual({ state: 'ready' });
    expect(claimState(claim, observed(claim, { annotations: {} }), true, key).state).toBe('unproven');
    expect(claimState(claim, observed(claim, { labels: {}, annotations: {} }), true, key)).toEqual({ state: 'adoptable' });
  });
});

describe('per-user quota at admission', () => {
  const limited = policyFrom({ quota: { maxClaimsPerUser: 2, maxStoragePerUser: '5Gi' } }, 'default');
  const podOf = (thread: string) =>
    sandboxPod({ labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': thread } });
  const existing = (thread: string, bytes = 2 * 2 ** 30) => observed(plannedClaim([limited], podOf(thread)), { requestedBytes: bytes });

  it('denies a new workspace beyond the count limit, naming the limit and the usage', () => {
    const { response } = review(podOf('t3'), [limited], lookupOf(existing('t1'), existing('t2')));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain(
      'QuotaExceeded: user "alice" in namespace agents already has 2 workspace PVCs (4Gi); policy "default" allows at most 2 (spec.quota.maxClaimsPerUser)',
    );
  });

  it('denies a new workspace beyond the storage limit', () => {
    const { response } = review(podOf('t2'), [limited], lookupOf(existing('t1', 4 * 2 ** 30)));
    expect(response.status?.message).toContain('already requests 4Gi in 1 workspace PVCs; 2Gi more');
    expect(response.status?.message).toContain('would exceed 5Gi (spec.quota.maxStoragePerUser of policy "default")');
  });

  it('counts only proven PVCs: planted ones with forged labels do not use up the quota', () => {
    const planted = (thread: string) => observed(plannedClaim([limited], podOf(thread)), { annotations: {} });
    expect(review(podOf('t3'), [limited], lookupOf(planted('t1'), planted('t2'))).response.allowed).toBe(true);
    expect(review(podOf('t3'), [limited], lookupOf(existing('t1'), planted('t2'))).response.allowed).toBe(true);
  });

  it('always admits pods of an existing workspace, and ignores PVCs being deleted', () => {
    expect(review(podOf('t1'), [limited], lookupOf(existing('t1'), existing('t2'))).response.allowed).toBe(true);
    const deleting = observed(plannedClaim([limited], podOf('t2')), { deleting: true });
    expect(review(podOf('t3'), [limited], lookupOf(existing('t1'), deleting)).response.allowed).toBe(true);
  });
});
