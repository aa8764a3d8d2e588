// Migration holds against a real kube-apiserver: the hold is an annotation on a SandboxStoragePolicy object, read by
// the cluster policy source; the webhook (over HTTPS) gates the held identity's new Pods, the controller releases
// every other Pod and keeps the held one gated until the annotation is removed, then releases it without a resync.
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchClusterPolicies } from '../../src/kube/cluster-policy-source.ts';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { formatMigrationHold, migrationHoldKey } from '../../src/policy/migration-hold.ts';
import { policyGroup, policyNames, policyVersion } from '../../src/policy/schema.ts';
import type { PolicySet } from '../../src/policy/sources/policy-set.ts';
import { storageSchedulingGate } from '../../src/labels.ts';
import { schedulingGatesOf } from '../fixtures/pods.ts';
import { startTestController, type TestController } from '../harness/controller.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';
import { installPolicyCrd } from '../harness/policy-crd.ts';
import { startLivePolicyWebhook } from '../harness/webhook.ts';

const target = { group: policyGroup, version: policyVersion, plural: policyNames.plural };
const policyName = 'migrated';
const plan = 'abcdefghijklmnopqrst';
let controlPlane: ControlPlane;
let webhook: Awaited<ReturnType<typeof startLivePolicyWebhook>>;
let policies: PolicySet;
let controller: TestController;
let objects: k8s.CustomObjectsApi;
let core: k8s.CoreV1Api;
let namespace: string;

async function setHold(value: string | null) {
  await objects.patchClusterCustomObject(
    { ...target, name: policyName, body: { metadata: { annotations: { [migrationHoldKey(plan)]: value } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await waitFor(() => (policies.current()[0]?.holds !== undefined) === (value !== null), { description: 'the policy source to see the hold change', timeoutMs: 30_000 });
}

/** Creates a sandbox Pod of `user` with kubectl, which prints the admission warnings. */
async function createPod(name: string, user: string): Promise<{ warnings: string }> {
  const manifest = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': user } },
    spec: { containers: [{ name: 'sandbox', image: 'registry.example/sandbox:1' }] },
  });
  const created = await controlPlane.kubectl(['create', '-n', namespace, '-f', '-'], { input: manifest });
  expect(created.stderr.replace(/^Warning: .*\n/gm, '')).toBe('');
  expect(created.code).toBe(0);
  return { warnings: created.stderr };
}

const gated = async (name: string) => schedulingGatesOf(await core.readNamespacedPod({ namespace, name })).includes(storageSchedulingGate);
const claimExists = async (user: string) =>
  (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.some((claim) => claim.metadata?.name === workspaceClaimName(policies.current()[0]!.spec.workspace.claimNamePrefix, { scope: 'user', user }));

/** The controller has created the user's PVC and finished every reconcile: a gate still there now stays. */
async function settled(user: string) {
  await waitFor(async () => (await claimExists(user)) && controller.controller.pending() === 0, { description: `the PVC of ${user} and an idle controller`, timeoutMs: 60_000 });
}

beforeAll(async () => {
  controlPlane = await startControlPlane();
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  objects = controlPlane.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  await installPolicyCrd(controlPlane);
  await objects.createClusterCustomObject({
    ...target,
    body: {
      apiVersion: `${policyGroup}/${policyVersion}`,
      kind: 'SandboxStoragePolicy',
      metadata: { name: policyName },
      spec: { workspace: { scope: 'user' }, seed: { enabled: false } },
    },
  });
  namespace = await createTestNamespace(controlPlane, 'migration-hold');
  const logger = pino({ level: process.env.SANDBOX_STORAGE_TEST_LOG ?? 'silent' });
  policies = await watchClusterPolicies(controlPlane.kubeConfig, logger);
  await waitFor(() => policies.current().length === 1, { description: 'the policy to load', timeoutMs: 30_000 });
  // The default resync (5 minutes) is far beyond every deadline here: a release must come from the hold's removal.
  controller = await startTestController(controlPlane.kubeConfig, policies, { logger });
  webhook = await startLivePolicyWebhook(controlPlane.kubeConfig, policies, logger);
});

afterAll(async () => {
  await controller?.stop();
  await webhook?.stop();
  await policies?.stop();
  await controlPlane?.stop();
});

describe('a migration hold on the target policy', () => {
  it("keeps the held identity's new Pod gated while another identity's is released, and releases it when the hold goes", async () => {
    await setHold(formatMigrationHold(namespace, [{ user: 'alice' }]));
    const alice = await createPod('alice-1', 'alice');
    expect(alice.warnings).toContain(`waits behind the scheduling gate until migration ${plan} into policy "${policyName}"`);
    const bob = await createPod('bob-1', 'bob');
    expect(bob.warnings).not.toContain('migration');

    await waitFor(async () => !(await gated('bob-1')), { description: 'the gate of bob-1 to be lifted', timeoutMs: 60_000 });
    await settled('alice');
    expect(await gated('alice-1')).toBe(true);

    await setHold(null);
    await waitFor(async () => !(await gated('alice-1')), { description: 'the gate of alice-1 to be lifted once the hold is gone', timeoutMs: 60_000 });
  });

  it('holds every identity when the hold cannot be read, and lets go when it is removed', async () => {
    await setHold('{"namespace": ');
    const carol = await createPod('carol-1', 'carol');
    expect(carol.warnings).toContain('not JSON; held as a precaution');
    await settled('carol');
    expect(await gated('carol-1')).toBe(true);

    await setHold(null);
    await waitFor(async () => !(await gated('carol-1')), { description: 'the gate of carol-1 to be lifted', timeoutMs: 60_000 });
  });
});
