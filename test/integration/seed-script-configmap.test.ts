// The seed script by reference (configMap delivery, the default), against a real kube-apiserver with the shipped
// webhook registrations: the controller — running with exactly the shipped RBAC — creates the content-addressed
// ConfigMap before it lifts the gate, refuses a look-alike planted under the name, deletes the ConfigMap after the
// last Pod is gone; the validating webhook refuses anyone else's create, change or delete of it, cluster-admin too.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedScriptConfigMapName, seedScriptVolumeName } from '../../src/admission/seed-script-delivery.ts';
import { scriptSha256, seedScriptSource } from '../../src/admission/seed-script.ts';
import { seedScriptConfigMapBody } from '../../src/admission/seed-script-configmap.ts';
import pino from 'pino';
import { SeedScriptKeeper } from '../../src/controller/seed-script-keeper.ts';
import { eventRecorder } from '../../src/kube/events.ts';
import { seedScriptConfigMapClient } from '../../src/kube/seed-script-configmaps.ts';
import { controllerMetrics } from '../../src/metrics/controller-metrics.ts';
import { createMetricsRegistry } from '../../src/metrics/registry.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { startTestController, type TestController } from '../harness/controller.ts';
import {
  impersonating,
  refusal,
  registerValidatingWebhook,
  shippedValidatingWebhook,
  startIsolationWebhook,
} from '../harness/isolation.ts';
import { serviceAccountKubeconfig } from '../harness/service-account.ts';
import { waitFor } from '../harness/wait.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive, type RunningWebhook } from '../harness/webhook.ts';
import { sandboxPodFor, schedulingGatesOf } from '../fixtures/pods.ts';

const controllerUsername = 'system:serviceaccount:sandbox-storage-system:sandbox-storage-webhook';
const tenant = { username: 'alice', group: 'tenants' };
const name = seedScriptConfigMapName();

let controlPlane: ControlPlane;
let webhook: RunningWebhook;
let controller: TestController;
/** Credentials of the controller's ServiceAccount (the shipped RBAC). */
let controllerConfig: k8s.KubeConfig;
let namespace: string;
/** A namespace where someone planted a ConfigMap under the name before the webhooks were registered. */
let planted: string;
/** A namespace with ConfigMaps of ours (this version and an older one) left behind, and no Pods. */
let orphaned: string;
const olderScript = 'echo an older seed script\n';
const olderName = `sandbox-storage-seed-${scriptSha256(olderScript).slice(0, 16)}`;
const cleanups: Array<() => Promise<unknown>> = [];

const admin = () => controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
const asTenant = () => impersonating(controlPlane.kubeConfig, tenant).makeApiClient(k8s.CoreV1Api);

async function readConfigMap(where: string): Promise<k8s.V1ConfigMap | undefined> {
  try {
    return await admin().readNamespacedConfigMap({ namespace: where, name });
  } catch (error) {
    if (error instanceof k8s.ApiException && error.code === 404) return undefined;
    throw error;
  }
}

async function createSandbox(where: string, user: string): Promise<k8s.V1Pod> {
  return admin().createNamespacedPod({ namespace: where, body: sandboxPodFor(user) });
}

async function waitUngated(where: string, pod: k8s.V1Pod): Promise<k8s.V1Pod> {
  return waitFor(
    async () => {
      const live = await admin().readNamespacedPod({ namespace: where, name: pod.metadata?.name ?? '' });
      return schedulingGatesOf(live).length === 0 ? live : undefined;
    },
    { description: `the controller to lift the gate of ${pod.metadata?.name}`, timeoutMs: 60_000 },
  );
}

/** The tenant may edit ConfigMaps in the namespace (RBAC allows it): only the webhook stands in the way. */
async function grantConfigMapAccess(where: string): Promise<void> {
  const rbac = controlPlane.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: where,
    body: { metadata: { name: 'configmap-editors' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: where,
    body: {
      metadata: { name: 'configmap-editors' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-editors' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: tenant.username }],
    },
  });
}

beforeAll(async () => {
  // The controller manager: namespace deletion (the namespace controller deletes our ConfigMap too).
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  namespace = await createTestNamespace(controlPlane, 'seed-script');
  planted = await createTestNamespace(controlPlane, 'seed-script-planted');
  // Before any webhook: a ConfigMap under the script's name with other content (as a tenant could have made it in
  // a namespace that was not governed yet).
  await admin().createNamespacedConfigMap({
    namespace: planted,
    body: { metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/seed-script': name.slice(-16) } }, immutable: true, data: { 'seed.sh': 'echo owned; cat /sandbox-storage/seed-target/*\n' } },
  });
  for (const where of [namespace, planted]) await grantConfigMapAccess(where);
  // Left behind by an earlier controller (a restart, an upgrade): ours, unused.
  orphaned = await createTestNamespace(controlPlane, 'seed-script-orphaned');
  await admin().createNamespacedConfigMap({ namespace: orphaned, body: seedScriptConfigMapBody(orphaned) });
  await admin().createNamespacedConfigMap({
    namespace: orphaned,
    body: { metadata: { name: olderName, labels: { 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/seed-script': olderName.slice(-16) } }, immutable: true, data: { 'seed.sh': olderScript } },
  });

  expect((await controlPlane.kubectl(['create', 'namespace', 'sandbox-storage-system'])).code).toBe(0);
  controllerConfig = new k8s.KubeConfig();
  controllerConfig.loadFromFile(await serviceAccountKubeconfig(controlPlane, 'sandbox-storage-system'));
  const policies = embeddedDefaultPolicies();
  webhook = await startIsolationWebhook(policies, controlPlane.kubeConfig);
  webhook.setOwnership({ controllerUsername });
  cleanups.unshift(() => webhook.stop());
  cleanups.unshift(
    await registerMutatingWebhook(controlPlane.kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', webhook.url, webhook.tls.caPem)),
  );
  cleanups.unshift(
    await registerValidatingWebhook(controlPlane.kubeConfig, shippedValidatingWebhook('sandbox-storage-webhook', webhook.url, webhook.tls.caPem)),
  );
  await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, sandboxPodFor('probe'), (created) =>
    (created.spec?.volumes ?? []).some((volume) => volume.name === seedScriptVolumeName),
  );
  controller = await startTestController(controllerConfig, policies);
  cleanups.unshift(() => controller.stop());
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('the controller keeps the seed-script ConfigMap', () => {
  let first: k8s.V1Pod;

  it('a sandbox Pod mounts the ConfigMap and waits behind the gate until the controller created it (immutable, marked, the script)', async () => {
    expect(await readConfigMap(namespace)).toBeUndefined();
    first = await createSandbox(namespace, 'alice');
    expect(schedulingGatesOf(first)).toEqual(['sandbox-storage.io/storage']);
    expect(first.spec?.volumes).toContainEqual(
      expect.objectContaining({ name: seedScriptVolumeName, configMap: expect.objectContaining({ name, defaultMode: 0o444 }) }),
    );
    await waitUngated(namespace, first);
    const configMap = await readConfigMap(namespace);
    expect(configMap?.immutable).toBe(true);
    expect(configMap?.data).toEqual({ 'seed.sh': seedScriptSource });
    expect(configMap?.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/seed-script': name.slice(-16) });
  });

  it('a second Pod in the namespace uses the same ConfigMap', async () => {
    const second = await createSandbox(namespace, 'bob');
    await waitUngated(namespace, second);
    const configMap = await readConfigMap(namespace);
    expect(configMap?.metadata?.uid).toBeDefined();
    await admin().deleteNamespacedPod({ namespace, name: second.metadata?.name ?? '', gracePeriodSeconds: 0 });
    // Still referenced by the first Pod: kept.
    await waitFor(async () => {
      const pods = await admin().listNamespacedPod({ namespace });
      return pods.items.every((pod) => pod.metadata?.name !== second.metadata?.name);
    }, { description: 'the second Pod to be gone' });
    expect((await readConfigMap(namespace))?.metadata?.uid).toBe(configMap?.metadata?.uid);
  });

  it('refuses a look-alike planted under the name: Warning Event, metric, the Pod stays gated, the object untouched', async () => {
    const pod = await createSandbox(planted, 'mallory');
    const event = await waitFor(
      async () =>
        (await admin().listNamespacedEvent({ namespace: planted })).items.find(
          (candidate) => candidate.reason === 'SeedScriptConflict' && candidate.involvedObject.name === pod.metadata?.name,
        ),
      { description: 'a SeedScriptConflict Event on the Pod' },
    );
    expect(event.type).toBe('Warning');
    expect(event.message).toContain(`ConfigMap ${name} exists but is not sandbox-storage's seed script`);
    expect(event.message).toContain('the SHA-256 differs');
    const metrics = await controller.registry.metrics();
    expect(metrics).toMatch(new RegExp(`sandbox_storage_seed_script_conflicts_total\\{namespace="${planted}"\\} [1-9]`));
    const live = await admin().readNamespacedPod({ namespace: planted, name: pod.metadata?.name ?? '' });
    expect(schedulingGatesOf(live)).toEqual(['sandbox-storage.io/storage']);
    expect((await readConfigMap(planted))?.data).toEqual({ 'seed.sh': 'echo owned; cat /sandbox-storage/seed-target/*\n' });
  });
});

describe('the seed-script keeper under a burst', () => {
  it('the first Pods of a namespace, checked together, read the missing ConfigMap once and create it once', async () => {
    const where = await createTestNamespace(controlPlane, 'seed-script-together');
    const real = seedScriptConfigMapClient(controllerConfig);
    const calls = { get: 0, create: 0 };
    const logger = pino({ level: 'silent' });
    const keeper = new SeedScriptKeeper({
      configMaps: {
        ...real,
        get: async (namespace_, name_) => ((calls.get += 1), real.get(namespace_, name_)),
        create: async (body) => ((calls.create += 1), real.create(body)),
      },
      events: eventRecorder(controllerConfig, logger, 'together'),
      metrics: controllerMetrics(createMetricsRegistry()),
      logger,
    });
    const pods = Array.from({ length: 8 }, (_, index): k8s.V1Pod => ({
      metadata: { namespace: where, name: `sandbox-${index}`, uid: `uid-${index}` },
      spec: { containers: [], volumes: [{ name: seedScriptVolumeName, configMap: { name } }] },
    }));
    const results = await Promise.all(pods.map((pod) => keeper.ready([pod])));
    expect(results.map((result) => result.ready.length)).toEqual(pods.map(() => 1));
    expect(calls).toEqual({ get: 1, create: 1 });
    expect((await readConfigMap(where))?.data).toEqual({ 'seed.sh': seedScriptSource });
    // Known now: no call at all for the next Pod.
    await keeper.ready([pods[0]!]);
    expect(calls).toEqual({ get: 1, create: 1 });
  });
});

describe('the validating webhook guards the seed-script ConfigMaps', () => {
  const rule = /only the sandbox-storage controller \(system:serviceaccount:sandbox-storage-system:sandbox-storage-webhook\) may (create|change|delete) it \[rule SeedScriptConfigMap\]/;

  it("refuses a tenant's and cluster-admin's delete of the managed ConfigMap", async () => {
    for (const client of [asTenant(), admin()]) {
      const refused = await refusal(client.deleteNamespacedConfigMap({ namespace, name }));
      expect(refused.code).toBe(403);
      expect(refused.message).toContain('admission webhook "validate-seed-script.sandbox-storage.io" denied the request');
      expect(refused.message).toMatch(rule);
    }
    expect(await readConfigMap(namespace)).toBeDefined();
  });

  it('refuses a change of its labels', async () => {
    const patch = [{ op: 'add', path: '/metadata/labels/extra', value: 'x' }];
    const refused = await refusal(
      asTenant().patchNamespacedConfigMap({ namespace, name, body: patch }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch)),
    );
    expect(refused.message).toMatch(rule);
  });

  it('refuses creating a ConfigMap under the prefix, or labelled as the seed script, and labelling one later', async () => {
    const attempts: k8s.V1ConfigMap[] = [
      { metadata: { name: 'sandbox-storage-seed-0000000000000000' }, data: { 'seed.sh': 'id' } },
      { metadata: { name: 'innocent', labels: { 'sandbox-storage.io/seed-script': name.slice(-16) } }, data: { 'seed.sh': 'id' } },
    ];
    for (const body of attempts) {
      const refused = await refusal(asTenant().createNamespacedConfigMap({ namespace, body }));
      expect(refused.code, body.metadata?.name).toBe(403);
      expect(refused.message).toMatch(rule);
    }
    await asTenant().createNamespacedConfigMap({ namespace, body: { metadata: { name: 'tenant-settings' }, data: { a: 'b' } } });
    // Ordinary ConfigMaps are not even sent to the webhook (matchConditions of its entry).
    expect(webhook.outcomes.some((outcome) => outcome.request?.kind?.kind === 'ConfigMap' && outcome.request?.name === 'tenant-settings')).toBe(false);
    const relabel = [{ op: 'add', path: '/metadata/labels', value: { 'sandbox-storage.io/seed-script': name.slice(-16) } }];
    const refused = await refusal(
      asTenant().patchNamespacedConfigMap({ namespace, name: 'tenant-settings', body: relabel }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch)),
    );
    expect(refused.message).toMatch(rule);
    // Their own ConfigMaps stay theirs.
    await asTenant().deleteNamespacedConfigMap({ namespace, name: 'tenant-settings' });
  });
});

describe('garbage collection', () => {
  it('deletes the ConfigMap once the last Pod referencing it is gone, and only there', async () => {
    // The planted namespace first: deletions are judged one after the other, so once the one below is seen, this
    // one was judged too — and the planted object is not ours: never deleted.
    for (const pod of (await admin().listNamespacedPod({ namespace: planted })).items) {
      await admin().deleteNamespacedPod({ namespace: planted, name: pod.metadata?.name ?? '', gracePeriodSeconds: 0 });
    }
    await waitFor(async () => (await admin().listNamespacedPod({ namespace: planted })).items.length === 0, { description: 'the planted namespace to have no Pods' });
    for (const pod of (await admin().listNamespacedPod({ namespace })).items) {
      await admin().deleteNamespacedPod({ namespace, name: pod.metadata?.name ?? '', gracePeriodSeconds: 0 });
    }
    await waitFor(async () => (await readConfigMap(namespace)) === undefined, { description: 'the unused seed-script ConfigMap to be deleted', timeoutMs: 60_000 });
    expect(await controller.registry.metrics()).toMatch(/sandbox_storage_seed_script_configmaps_total\{action="deleted"\} [1-9]/);
    expect((await readConfigMap(planted))?.data?.['seed.sh']).toContain('echo owned');
  });
});

describe('garbage collection at start', () => {
  it('deletes the ConfigMaps of ours that no Pod references, of this version and older ones', async () => {
    await waitFor(
      async () => (await admin().listNamespacedConfigMap({ namespace: orphaned })).items.every((item) => !item.metadata?.name?.startsWith('sandbox-storage-seed-')),
      { description: 'the orphaned seed-script ConfigMaps to be deleted', timeoutMs: 60_000 },
    );
  });
});

describe('namespace deletion', () => {
  it('the namespace controller may delete the ConfigMap of a namespace being deleted: the namespace goes away', async () => {
    const doomed = await createTestNamespace(controlPlane, 'seed-script-doomed');
    await waitUngated(doomed, await createSandbox(doomed, 'carol'));
    expect(await readConfigMap(doomed)).toBeDefined();
    await admin().deleteNamespace({ name: doomed });
    await waitFor(
      async () => {
        try {
          await admin().readNamespace({ name: doomed });
          return false;
        } catch (error) {
          return error instanceof k8s.ApiException && error.code === 404;
        }
      },
      { description: `namespace ${doomed} to be deleted completely`, timeoutMs: 120_000, intervalMs: 500 },
    );
  });
});

// The shipped RBAC names exactly what the controller does with ConfigMaps.
it('the shipped ClusterRole grants get, list, create and delete on configmaps', () => {
  const rbac = readFileSync(new URL('../../deploy/manifests/rbac.yaml', import.meta.url), 'utf8');
  expect(rbac).toContain('resources: ["configmaps"]\n    verbs: ["get", "list", "create", "delete"]');
});
