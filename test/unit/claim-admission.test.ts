// Who may plant governed storage: the PVC admission (validate-claim.ts) and the Pod admission of generic ephemeral
// volume templates (ephemeral-claims.ts), decided offline from the example policies.
import type { Policy } from '../../src/policy/types.ts';
import { describe, expect, it } from 'vitest';
import { ephemeralClaimDenials } from '../../src/admission/isolation/ephemeral-claims.ts';
import { validateClaim, type ClaimValidationInput } from '../../src/admission/isolation/validate-claim.ts';
import { validatePod } from '../../src/admission/isolation/validate-pod.ts';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { policyFrom } from '../fixtures/pods.ts';
import { examplePolicy, requesters } from '../fixtures/isolation.ts';

const workspace = examplePolicy('workspace');
const shared = examplePolicy('shared');
const governing = [workspace, shared];
/** The same policies, with the gateway exempt from the workspace policy too. */
const governingWithGatewayExempt = [
  { ...workspace, spec: { ...workspace.spec, isolation: { ...workspace.spec.isolation, exemptions: shared.spec.isolation.exemptions } } },
  shared,
];
const controllerUsername = 'system:serviceaccount:sandbox-storage-system:sandbox-storage-webhook';
const controller = { username: controllerUsername, groups: ['system:serviceaccounts'] };
const kcm = { username: 'system:serviceaccount:kube-system:ephemeral-volume-controller', groups: ['system:serviceaccounts'] };
const victimClaim = workspaceClaimName('sandbox-', { scope: 'thread', user: 'victim', thread: 't1' });
const forgedLabels = {
  'app.kubernetes.io/managed-by': 'sandbox-storage-webhook',
  'sandbox-storage.io/policy': 'workspace',
  'sandbox-storage.io/identity-hash': 'x'.repeat(51),
};

function claim(name: string, metadata: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) {
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, ...metadata }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec } };
}

function judge({ policies = governing, ...input }: Partial<ClaimValidationInput> & { object: unknown; policies?: Policy[] }) {
  return validateClaim({ operation: 'CREATE', userInfo: requesters.alice, controllerUsername, ...input }, policies);
}

describe('PVC CREATE in a governed namespace', () => {
  it("refuses a victim's workspace PVC name from anyone but the controller, saying why, which field and who may", () => {
    for (const requester of [requesters.alice, requesters.spawner, requesters.gateway, kcm]) {
      const result = judge({ object: claim(victimClaim), userInfo: requester });
      expect(result.denials).toEqual([
        `PVC "${victimClaim}" is refused: metadata.name is in the governed PVC name space: it has the shape of a workspace PVC of policy "workspace" (spec.workspace.claimNamePrefix "sandbox-" + hint + 20-character hash); only the sandbox-storage controller (${controllerUsername}) creates workspace PVCs [rule ClaimInGovernedNames]`,
      ]);
      expect(result.denialReasons).toEqual(['ClaimInGovernedNames']);
    }
    expect(judge({ object: claim(victimClaim, { labels: forgedLabels, annotations: { 'sandbox-storage.io/ownership-proof': 'v1:x' } }), userInfo: controller }).denials).toEqual([]);
  });

  it('refuses the shared claim name except from the controller and the policy exemptions (the admins who create it)', () => {
    expect(judge({ object: claim('sandbox-data') }).denials[0]).toContain(
      'metadata.name is in the governed PVC name space: it is the shared claim of policy "shared" (spec.shared.claimName); only the sandbox-storage controller',
    );
    expect(judge({ object: claim('sandbox-data') }).denials[0]).toContain('or a requester in spec.isolation.exemptions of policy "shared" may create it');
    expect(judge({ object: claim('sandbox-data'), userInfo: requesters.gateway }).denials).toEqual([]);
    expect(judge({ object: claim('sandbox-data'), userInfo: controller }).denials).toEqual([]);
    // An exemption is no licence for the ownership marks.
    expect(judge({ object: claim('sandbox-data', { labels: forgedLabels }), userInfo: requesters.gateway }).denialReasons).toEqual(['ClaimOwnershipMarks']);
  });

  it('refuses the ownership labels and the proof annotation on any PVC, whatever its name', () => {
    const result = judge({ object: claim('my-scratch', { labels: forgedLabels, annotations: { 'sandbox-storage.io/ownership-proof': 'v1:AAAA' } }) });
    expect(result.denials).toEqual([
      `PVC "my-scratch" is refused: it carries metadata.labels["app.kubernetes.io/managed-by"], metadata.labels["sandbox-storage.io/identity-hash"], metadata.labels["sandbox-storage.io/policy"], metadata.annotations["sandbox-storage.io/ownership-proof"], the ownership marks of sandbox-storage; only the sandbox-storage controller (${controllerUsername}) writes them [rule ClaimOwnershipMarks]`,
    ]);
    // Another tool's managed-by is not ours to police.
    expect(judge({ object: claim('my-scratch', { labels: { 'app.kubernetes.io/managed-by': 'Helm' } }) }).denials).toEqual([]);
  });

  it('refuses clones of governed PVCs and snapshot restores, except for exempt requesters', () => {
    const clone = claim('my-copy', {}, { dataSource: { kind: 'PersistentVolumeClaim', name: victimClaim } });
    expect(judge({ object: clone }).denials).toEqual([
      `PVC "my-copy" is refused: spec.dataSource clones PVC "${victimClaim}", and it has the shape of a workspace PVC of policy "workspace" (spec.workspace.claimNamePrefix "sandbox-" + hint + 20-character hash); only the sandbox-storage controller (${controllerUsername}) or a requester in spec.isolation.exemptions of policy "workspace" may [rule ClaimCopiesGovernedStorage]`,
    ]);
    const restore = claim('my-restore', {}, { dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'nightly' } });
    expect(judge({ object: restore }).denials[0]).toContain('spec.dataSourceRef restores VolumeSnapshot "nightly"');
    // A snapshot may be of any governed storage: only a requester every governing policy exempts may restore it.
    expect(judge({ object: restore, userInfo: requesters.gateway }).denials[0]).toContain('restores VolumeSnapshot "nightly"');
    expect(judge({ object: restore, userInfo: requesters.gateway, policies: governingWithGatewayExempt }).denials).toEqual([]);
    // A clone of the shared claim: its owner's exemption is enough.
    expect(judge({ object: claim('my-copy', {}, { dataSource: { kind: 'PersistentVolumeClaim', name: 'sandbox-data' } }), userInfo: requesters.gateway }).denials).toEqual([]);
    expect(judge({ object: claim('my-copy', {}, { dataSource: { kind: 'PersistentVolumeClaim', name: 'my-scratch' } }) }).denials).toEqual([]);
  });

  it('lets ordinary PVCs through, and judges nothing in an ungoverned namespace', () => {
    expect(judge({ object: claim('my-scratch') })).toEqual({ governed: true, denials: [] });
    expect(validateClaim({ operation: 'CREATE', object: claim(victimClaim), userInfo: requesters.alice }, [])).toEqual({ governed: false, denials: [] });
  });

  it('without a known controller username nobody creates governed PVCs (fail closed)', () => {
    const result = validateClaim({ operation: 'CREATE', object: claim(victimClaim), userInfo: controller }, governing);
    expect(result.denials[0]).toContain('only the sandbox-storage controller creates workspace PVCs');
  });

  it('in audit mode only, the denials are reported but not enforced', () => {
    const audit = policyFrom({ enforcement: 'audit' }, 'audited');
    expect(validateClaim({ operation: 'CREATE', object: claim('sandbox-x-aaaaaaaaaaaaaaaaaaaa'), userInfo: requesters.alice }, [audit]).auditOnly).toBe(true);
  });
});

describe('PVC UPDATE in a governed namespace', () => {
  const own = claim('my-scratch', { labels: { app: 'mine' } });
  it('refuses adding, changing or removing the ownership labels or the proof, except by the controller', () => {
    const relabelled = claim('my-scratch', { labels: { app: 'mine', ...forgedLabels } });
    const result = validateClaim({ operation: 'UPDATE', object: relabelled, oldObject: own, userInfo: requesters.alice, controllerUsername }, governing);
    expect(result.denials).toEqual([
      `PVC "my-scratch" update is refused: it adds, changes or removes metadata.labels["app.kubernetes.io/managed-by"], metadata.labels["sandbox-storage.io/identity-hash"], metadata.labels["sandbox-storage.io/policy"], the ownership marks of sandbox-storage; only the sandbox-storage controller (${controllerUsername}) writes them [rule ClaimOwnershipMarks]`,
    ]);
    const proven = claim(victimClaim, { labels: forgedLabels, annotations: { 'sandbox-storage.io/ownership-proof': 'v1:AAAA' } });
    const stripped = claim(victimClaim, { labels: forgedLabels });
    expect(validateClaim({ operation: 'UPDATE', object: stripped, oldObject: proven, userInfo: requesters.alice, controllerUsername }, governing).denials[0]).toContain(
      'removes metadata.annotations["sandbox-storage.io/ownership-proof"]',
    );
    expect(validateClaim({ operation: 'UPDATE', object: relabelled, oldObject: own, userInfo: controller, controllerUsername }, governing).denials).toEqual([]);
  });

  it('lets other changes through (binding annotations, finalizers, other labels), on governed PVCs too', () => {
    const proven = claim(victimClaim, { labels: forgedLabels, annotations: { 'sandbox-storage.io/ownership-proof': 'v1:AAAA' } });
    const bound = claim(victimClaim, {
      labels: { ...forgedLabels, extra: 'x' },
      annotations: { 'sandbox-storage.io/ownership-proof': 'v1:AAAA', 'pv.kubernetes.io/bind-completed': 'yes' },
      finalizers: ['kubernetes.io/pvc-protection'],
    });
    expect(validateClaim({ operation: 'UPDATE', object: bound, oldObject: proven, userInfo: kcm, controllerUsername }, governing).denials).toEqual([]);
  });
});

describe('generic ephemeral volumes at Pod CREATE', () => {
  const podWith = (metadata: Record<string, unknown>, volumes: unknown[]) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec: { containers: [{ name: 'main', image: 'x' }], volumes } });
  const ephemeral = (name: string, template: Record<string, unknown> = {}) => ({
    name,
    ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }, ...template } },
  });
  const [podPart, ...rest] = victimClaim.split('-t1-');
  const volumePart = `t1-${rest.join('-t1-')}`;

  it("refuses a template whose PVC (pod name + volume name) is a victim's workspace PVC, naming the PVC", () => {
    const denials = ephemeralClaimDenials(podWith({ name: podPart }, [ephemeral(volumePart)]), governing, requesters.alice);
    expect(denials).toEqual([
      `volume "${volumePart}" would have kube-controller-manager create PVC "${victimClaim}" (pod name + "-" + volume name), and it has the shape of a workspace PVC of policy "workspace" (spec.workspace.claimNamePrefix "sandbox-" + hint + 20-character hash); such PVCs are created by the sandbox-storage controller only: rename the pod or the volume [rule EphemeralClaimInGovernedNames]`,
    ]);
    expect(ephemeralClaimDenials(podWith({ name: 'sandbox' }, [ephemeral('data')]), governing, requesters.alice)).toEqual([
      expect.stringContaining('create PVC "sandbox-data" (pod name + "-" + volume name), and it is the shared claim of policy "shared"'),
    ]);
    // Exemptions do not cover planting: the controller never creates Pods.
    expect(ephemeralClaimDenials(podWith({ name: podPart }, [ephemeral(volumePart)]), governing, requesters.gateway)).toHaveLength(1);
  });

  it('with only generateName, refuses when a generated name could fall in the governed name space', () => {
    expect(ephemeralClaimDenials(podWith({ generateName: 'sandbox-' }, [ephemeral('scratch')]), governing, requesters.alice)).toEqual([
      expect.stringContaining('metadata.generateName "sandbox-" + random suffix + "-scratch"'),
    ]);
    expect(ephemeralClaimDenials(podWith({ generateName: 'sand' }, [ephemeral('scratch')]), governing, requesters.alice)[0]).toContain('[rule EphemeralClaimInGovernedNames]');
    expect(ephemeralClaimDenials(podWith({ generateName: 'job-' }, [ephemeral('scratch')]), governing, requesters.alice)).toEqual([]);
  });

  it('refuses ownership marks in the template, and clones of governed PVCs or snapshot restores unless exempt', () => {
    const marked = ephemeral('scratch', { metadata: { labels: forgedLabels, annotations: { 'sandbox-storage.io/ownership-proof': 'v1:AAAA' } } });
    expect(ephemeralClaimDenials(podWith({ name: 'job' }, [marked]), governing, requesters.gateway)).toEqual([
      'volume "scratch" carries spec.volumes[0].ephemeral.volumeClaimTemplate.metadata.labels["app.kubernetes.io/managed-by"], spec.volumes[0].ephemeral.volumeClaimTemplate.metadata.labels["sandbox-storage.io/identity-hash"], spec.volumes[0].ephemeral.volumeClaimTemplate.metadata.labels["sandbox-storage.io/policy"], spec.volumes[0].ephemeral.volumeClaimTemplate.metadata.annotations["sandbox-storage.io/ownership-proof"], the ownership marks of sandbox-storage, which only its controller writes [rule EphemeralClaimOwnershipMarks]',
    ]);
    const clone = ephemeral('scratch', { spec: { dataSource: { kind: 'PersistentVolumeClaim', name: 'sandbox-data' } } });
    expect(ephemeralClaimDenials(podWith({ name: 'job' }, [clone]), governing, requesters.alice)).toEqual([
      'volume "scratch": spec.volumes[0].ephemeral.volumeClaimTemplate.spec.dataSource clones PVC "sandbox-data", and it is the shared claim of policy "shared" (spec.shared.claimName); only a requester in spec.isolation.exemptions of every policy concerned may [rule EphemeralClaimCopiesGovernedStorage]',
    ]);
    const restore = ephemeral('scratch', { spec: { dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'nightly' } } });
    expect(ephemeralClaimDenials(podWith({ name: 'job' }, [restore]), governing, requesters.alice)[0]).toContain('restores VolumeSnapshot "nightly"');
    expect(ephemeralClaimDenials(podWith({ name: 'job' }, [restore]), governing, requesters.gateway)[0]).toContain('restores VolumeSnapshot "nightly"');
    expect(ephemeralClaimDenials(podWith({ name: 'job' }, [restore]), governingWithGatewayExempt, requesters.gateway)).toEqual([]);
    expect(ephemeralClaimDenials(podWith({ name: 'job' }, [ephemeral('scratch')]), governing, requesters.alice)).toEqual([]);
  });

  it('is part of the Pod CREATE decision of the validating webhook', () => {
    const validation = validatePod(
      { operation: 'CREATE', subResource: '', object: podWith({ name: podPart }, [ephemeral(volumePart)]), userInfo: requesters.alice, claimMetadata: {} },
      governing,
    );
    expect(validation.denialReasons).toContain('EphemeralClaimInGovernedNames');
  });
});

describe('the /validate route for PVCs', () => {
  const review = (object: unknown, userInfo: unknown, operation = 'CREATE') => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' }, resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' }, namespace: 'agents', operation, userInfo, object },
  });
  const sources = { policies: governing, namespaceLabels: async () => ({}), controllerUsername };

  it('denies a planted PVC with a 403 naming the rule, admits the controller, and never reads namespaces for selector-less policies', async () => {
    const { reviewValidation } = await import('../../src/webhook/validate.ts');
    let lookups = 0;
    const counting = { ...sources, namespaceLabels: async () => ((lookups += 1), {}) };
    const denied = await reviewValidation(review(claim(victimClaim), requesters.alice), counting);
    expect(denied.result).toBe('denied');
    expect(denied.review.response.status?.code).toBe(403);
    expect(denied.review.response.status?.message).toContain('[rule ClaimInGovernedNames]');
    expect((await reviewValidation(review(claim(victimClaim), controller), counting)).review.response.allowed).toBe(true);
    expect(lookups).toBe(0);
    const withoutOld = await reviewValidation(review(claim('x'), requesters.alice, 'UPDATE'), counting);
    expect(withoutOld.review.response.status?.code).toBe(400);
  });
});
