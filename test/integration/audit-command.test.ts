// `sandbox-storage audit` against a real API server holding what an unprotected cluster accumulates: a Pod that
// reaches another tenant's directory, a planted workspace PVC, a PVC with forged ownership labels, next to a clean
// sandbox and a PVC the controller proved. Nothing here goes through a webhook: the state predates it.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipProof } from '../../src/admission/ownership-proof.ts';
import { runAudit } from '../../src/commands/audit.ts';
import { ownershipKeySecretBody } from '../../src/kube/ownership-key.ts';
import { workspaceClaimName, workspaceIdentityHash } from '../../src/naming/identity-names.ts';
import { policyGroup, policyNames, policyVersion } from '../../src/policy/schema.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { podMounting, podWith, sandboxLabels, sharedVolume } from '../fixtures/isolation.ts';
import { ownershipProofAnnotation } from '../../src/labels.ts';

let controlPlane: ControlPlane;
let namespace: string;
let keyNamespace: string;
const key = randomBytes(32);

const managed = (identityHash: string) => ({ 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/identity-hash': identityHash });
const claimSpec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };

async function audit(args: string[] = []) {
  let stdout = '';
  let stderr = '';
  const code = await runAudit(
    ['--kubeconfig', controlPlane.kubeconfigPath, '--ownership-key-secret', `${keyNamespace}/sandbox-storage-ownership-key`, ...args],
    (text) => (stdout += text),
    (text) => (stderr += text),
  );
  return { code, stdout, stderr };
}

beforeAll(async () => {
  controlPlane = await startControlPlane();
  const applied = await controlPlane.kubectl(['apply', '-f', 'deploy/crds/']);
  expect(applied.code, applied.stderr).toBe(0);
  namespace = await createTestNamespace(controlPlane, 'audit');
  keyNamespace = await createTestNamespace(controlPlane, 'audit-system');
  const core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const objects = controlPlane.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  await controlPlane.kubectl(['wait', '--for=condition=Established', `crd/${policyNames.plural}.${policyGroup}`, '--timeout=60s']);
  for (const file of ['examples/policies/shared.yaml', 'examples/policies/workspace.yaml']) {
    const result = await controlPlane.kubectl(['apply', '-f', file]);
    expect(result.code, result.stderr).toBe(0);
  }
  expect((await objects.listClusterCustomObject({ group: policyGroup, version: policyVersion, plural: policyNames.plural })) as { items: unknown[] }).toMatchObject({ items: [{}, {}] });
  await core.createNamespacedSecret({ namespace: keyNamespace, body: ownershipKeySecretBody(keyNamespace, 'sandbox-storage-ownership-key', key) });

  const proven = { scope: 'thread' as const, user: 'alice', thread: 't1' };
  const provenName = workspaceClaimName('sandbox-', proven);
  const planted = { scope: 'thread' as const, user: 'bob', thread: 't1' };
  const proof = ownershipProof(key, { namespace, name: provenName, policy: 'workspace', role: 'workspace', identityHash: workspaceIdentityHash(proven) });
  const claims: k8s.V1PersistentVolumeClaim[] = [
    { metadata: { name: provenName, labels: managed(workspaceIdentityHash(proven)), annotations: { [ownershipProofAnnotation]: proof } }, spec: claimSpec },
    { metadata: { name: workspaceClaimName('sandbox-', planted), labels: managed(workspaceIdentityHash(planted)) }, spec: claimSpec },
    { metadata: { name: 'looks-official', labels: managed('x') }, spec: claimSpec },
  ];
  for (const body of claims) await core.createNamespacedPersistentVolumeClaim({ namespace, body });
  const pods = [
    podWith({ name: 'clean', labels: sandboxLabels('alice') }),
    podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: 'users/bob/skills', readOnly: true }),
  ];
  (pods[1]!.metadata as Record<string, unknown>).name = 'reaches-bob';
  for (const body of pods) await core.createNamespacedPod({ namespace, body: body as k8s.V1Pod });
});

afterAll(async () => {
  await controlPlane?.stop();
});

describe('sandbox-storage audit', () => {
  it('lists exactly what breaks isolation, exits 1, and leaves the clean sandbox and the proven PVC out', async () => {
    const { code, stdout, stderr } = await audit(['--output', 'json']);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const { findings } = JSON.parse(stdout) as { findings: Array<{ namespace: string; kind: string; name: string; rule: string }> };
    const mine = findings.filter((finding) => finding.namespace === namespace).map(({ kind, name, rule }) => `${kind}/${name}:${rule}`);
    expect(mine).toEqual([
      'PersistentVolumeClaim/looks-official:ForgedOwnership',
      `PersistentVolumeClaim/${workspaceClaimName('sandbox-', { scope: 'thread', user: 'bob', thread: 't1' })}:UnprovenClaim`,
      'Pod/reaches-bob:SharedSubPathScope',
    ]);
  });

  it('prints a kubectl-style table', async () => {
    const { code, stdout } = await audit();
    expect(code).toBe(1);
    expect(stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+KIND\s+NAME\s+RULE\s+MESSAGE$/);
    expect(stdout).toMatch(/reaches-bob\s+SharedSubPathScope\s+container "sidekick" mounts volume "data"/);
  });

  it('without the key nothing is proven, and it says so', async () => {
    let stderr = '';
    let stdout = '';
    const code = await runAudit(['--kubeconfig', controlPlane.kubeconfigPath, '--ownership-key-secret', `${keyNamespace}/missing`, '--output', 'json'], (text) => (stdout += text), (text) => (stderr += text));
    expect(code).toBe(1);
    expect(stderr).toMatch(/cannot read the ownership key Secret .*\/missing .*no PVC can be proven/);
    const provenName = workspaceClaimName('sandbox-', { scope: 'thread', user: 'alice', thread: 't1' });
    expect(JSON.parse(stdout).findings).toContainEqual(expect.objectContaining({ name: provenName, rule: 'UnprovenClaim' }));
  });
});
