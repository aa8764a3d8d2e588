// The audit judges what a cluster holds with the webhooks' rules: Pods that would be refused now, PVCs planted in
// the product's names; what cannot be judged after the fact (who created a Pod) is left out, never guessed.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditCluster, type AuditInput } from '../../src/admission/isolation/audit.ts';
import { ownershipProof } from '../../src/admission/ownership-proof.ts';
import { workspaceClaimName, workspaceIdentityHash } from '../../src/naming/identity-names.ts';
import { examplePolicy, podMounting, podWith, sandboxLabels, sharedVolume } from '../fixtures/isolation.ts';
import { policyFrom } from '../fixtures/pods.ts';
import { ownershipProofAnnotation } from '../../src/labels.ts';

const shared = examplePolicy('shared');
const workspace = policyFrom({ mode: 'workspace', podSelector: { matchLabels: { 'example.com/workspace': 'true' } }, workspace: { claimNamePrefix: 'sandbox-', scope: 'user' } }, 'workspace');
const key = randomBytes(32);

function inNamespace(pod: Record<string, unknown>, namespace: string, name: string): Record<string, unknown> {
  return { ...pod, metadata: { ...(pod.metadata as object), namespace, name } };
}

const identity = { scope: 'user' as const, user: 'alice' };
const alicesClaim = workspaceClaimName('sandbox-', identity);
const hash = workspaceIdentityHash(identity);
const managedLabels = { 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/identity-hash': hash, 'sandbox-storage.io/user': 'alice' };

function input(overrides: Partial<AuditInput>): AuditInput {
  return { policies: [shared, workspace], namespaces: [{ name: 'tenants', labels: {} }], pods: [], claims: [], ownershipKey: key, ...overrides };
}

describe('sandbox-storage audit (pure)', () => {
  it('a clean cluster has no findings: sandbox Pods in their own directories, proven PVCs', () => {
    const proof = ownershipProof(key, { namespace: 'tenants', name: alicesClaim, policy: 'workspace', role: 'workspace', identityHash: hash });
    const findings = auditCluster(
      input({
        pods: [
          inNamespace(podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: 'users/alice/threads/t1/user-data' }), 'tenants', 'a'),
          inNamespace(podMounting({ 'example.com/workspace': 'true', 'sandbox-storage.io/user': 'alice' }, { name: 'w', persistentVolumeClaim: { claimName: alicesClaim } }, {}), 'tenants', 'b'),
        ],
        claims: [{ namespace: 'tenants', name: alicesClaim, labels: managedLabels, annotations: { [ownershipProofAnnotation]: proof } }],
      }),
    );
    expect(findings).toEqual([]);
  });

  it('reports a Pod admitted before the webhook that mounts another tenant\'s directory, and one mounting the share\'s root', () => {
    const findings = auditCluster(
      input({
        pods: [
          inNamespace(podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: 'users/bob/threads/t1/user-data' }), 'tenants', 'reach'),
          inNamespace(podMounting({}, sharedVolume(), {}), 'tenants', 'root'),
        ],
      }),
    );
    expect(findings.map(({ name, rule }) => `${name}:${rule}`)).toEqual(['reach:SharedSubPathScope', 'root:SharedVolumeRoot']);
  });

  it('reports ephemeral containers already in a Pod', () => {
    const pod = podWith({ labels: sandboxLabels('alice'), volumes: [sharedVolume()] }) as { spec: Record<string, unknown> };
    pod.spec.ephemeralContainers = [{ name: 'debug', image: 'tools', volumeMounts: [{ name: 'data', mountPath: '/all' }] }];
    const findings = auditCluster(input({ pods: [inNamespace(pod as Record<string, unknown>, 'tenants', 'debugged')] }));
    expect(findings).toMatchObject([{ kind: 'Pod', name: 'debugged', rule: 'SharedVolumeRoot', message: expect.stringMatching(/ephemeral container "debug"/) }]);
  });

  it('reports unproven PVCs in the workspace names and forged ownership labels elsewhere; skips ungoverned namespaces', () => {
    const findings = auditCluster(
      input({
        namespaces: [{ name: 'tenants', labels: {} }],
        claims: [
          { namespace: 'tenants', name: alicesClaim, labels: managedLabels, annotations: {} },
          { namespace: 'tenants', name: 'mine', labels: managedLabels, annotations: {} },
          { namespace: 'tenants', name: 'plain', labels: {}, annotations: {} },
        ],
      }),
    );
    expect(findings.map(({ name, rule }) => `${name}:${rule}`)).toEqual(['mine:ForgedOwnership', `${alicesClaim}:UnprovenClaim`]);
    const ungoverned = auditCluster(
      input({
        policies: [policyFrom({ mode: 'workspace', namespaceSelector: { matchLabels: { sandboxes: 'yes' } }, workspace: { claimNamePrefix: 'sandbox-' } }, 'only-labelled')],
        claims: [{ namespace: 'tenants', name: alicesClaim, labels: managedLabels, annotations: {} }],
      }),
    );
    expect(ungoverned).toEqual([]);
  });

  it('leaves out what cannot be judged after the fact: who created a Pod', () => {
    // A sandbox for bob; its creator is unknown, so requester binding is not reported.
    const findings = auditCluster(input({ pods: [inNamespace(podWith({ labels: sandboxLabels('bob') }), 'tenants', 'bobs')] }));
    expect(findings).toEqual([]);
  });
});
