// The PVC controller against a real kube-apiserver + kube-controller-manager, with the webhook registered over
// HTTPS: PVCs created once per identity, scheduling gates lifted, ownership enforced, Events and metrics recorded.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { planStorage } from '../../src/admission/plan-storage.ts';
import { ClaimReconciler } from '../../src/controller/claim-reconciler.ts';
import { claimClient, claimEventMessages, type ClaimClient } from '../../src/kube/claims.ts';
import { eventRecorder } from '../../src/kube/events.ts';
import { podClient, type PodClient } from '../../src/kube/pods.ts';
import { controllerMetrics } from '../../src/metrics/controller-metrics.ts';
import { createMetricsRegistry } from '../../src/metrics/registry.ts';
import { claimLookupFromCache } from '../../src/kube/claim-lookup.ts';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import type { Policy } from '../../src/policy/types.ts';
import { policyFrom, sandboxPodFor, schedulingGatesOf } from '../fixtures/pods.ts';
import { startTestController, testOwnershipKey, type TestController } from '../harness/controller.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import {
  registerShippedWebhook,
  startTestWebhook,
  type RunningWebhook,
} from '../harness/webhook.ts';
import { waitFor } from '../harness/wait.ts';
import { defaultLabels, storageSchedulingGate } from '../../src/labels.ts';

const gate = storageSchedulingGate;
const pod = sandboxPodFor;
const policies = {
  default: embeddedDefaultPolicies()[0] as Policy,
  perUser: policyFrom({ workspace: { scope: 'user' }, seed: { enabled: false } }, 'per-user'),
  sharedCreated: policyFrom(
    { mode: 'shared', shared: { claimName: 'team-share' }, provisioning: { shared: { createIfMissing: true, size: '1Gi' } } },
    'shared-created',
  ),
  sharedExisting: policyFrom({ mode: 'shared', shared: { claimName: 'admin-share' } }, 'shared-existing'),
  adopting: policyFrom({ provisioning: { adoptExisting: true } }, 'adopting'),
  pendingFast: policyFrom({ provisioning: { pendingWarningSeconds: 1 } }, 'pending-fast'),
  deleteAfterGrace: policyFrom({ retention: { whenUnused: 'Delete', gracePeriodSeconds: 2 } }, 'delete-after-grace'),
  idleTtl: policyFrom({ retention: { idleTTLSeconds: 3 } }, 'idle-ttl'),
  quota: policyFrom({ workspace: { size: '1Gi' }, quota: { maxClaimsPerUser: 2, maxStoragePerUser: '3Gi' } }, 'quota'),
};
const allPolicies = Object.values(policies);

let controlPlane: ControlPlane;
let webhook: RunningWebhook;
let controller: TestController;
let core: k8s.CoreV1Api;
let namespace: string;
const cleanups: Array<() => Promise<unknown>> = [];


async function createPod(body: k8s.V1Pod, ns = namespace): Promise<k8s.V1Pod> {
  return core.createNamespacedPod({ namespace: ns, body });
}

async function readPod(created: k8s.V1Pod): Promise<k8s.V1Pod> {
  return core.readNamespacedPod({ namespace: created.metadata?.namespace ?? namespace, name: created.metadata?.name ?? '' });
}

const gates = schedulingGatesOf;

async function waitUngated(created: k8s.V1Pod): Promise<k8s.V1Pod> {
  return waitFor(async () => {
    const current = await readPod(created);
    return gates(current).includes(gate) ? undefined : current;
  }, { description: `the storage gate of pod ${created.metadata?.name} to be removed`, timeoutMs: 60_000 });
}

async function readClaim(name: string, ns = namespace): Promise<k8s.V1PersistentVolumeClaim | undefined> {
  try {
    return await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name });
  } catch (error) {
    if (error instanceof k8s.ApiException && error.code === 404) return undefined;
    throw error;
  }
}

async function eventsFor(kind: string, name: string, ns = namespace): Promise<k8s.CoreV1Event[]> {
  const list = await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return list.items;
}

async function waitForEvent(kind: string, name: string, reason: string, ns = namespace): Promise<k8s.CoreV1Event> {
  return waitFor(async () => (await eventsFor(kind, name, ns)).find((event) => event.reason === reason), {
    description: `a ${reason} Event on ${kind} ${name}`,
    timeoutMs: 60_000,
  });
}

async function createdCount(): Promise<number> {
  const metric = await controller.registry.getSingleMetric('sandbox_storage_pvcs_created_total')?.get();
  return (metric?.values ?? []).reduce((sum, value) => sum + value.value, 0);
}

async function withPolicy<T>(policy: Policy, body: () => Promise<T>): Promise<T> {
  webhook.setPolicies([policy]);
  try {
    return await body();
  } finally {
    webhook.setPolicies([policies.default]);
  }
}

beforeAll(async () => {
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  namespace = await createTestNamespace(controlPlane, 'pvc-controller');
  controller = await startTestController(controlPlane.kubeConfig, allPolicies);
  cleanups.unshift(() => controller.stop());
  webhook = await startTestWebhook([policies.default]);
  webhook.setClaims(claimLookupFromCache(controller.claims)());
  webhook.setOwnership({ ownershipKey: testOwnershipKey });
  cleanups.unshift(() => webhook.stop());
  cleanups.unshift(
    await registerShippedWebhook(controlPlane.kubeConfig, { url: webhook.url, caPem: webhook.tls.caPem }, { namespace: namespace, pod: pod('probe') }),
  );
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('workspace mode', () => {
  it('gates a new sandbox pod, creates its PVC from the policy hints, then lifts the gate', async () => {
    const created = await createPod(pod('alice', 'thread-1'));
    expect(gates(created)).toEqual([gate]);
    const claimName = workspaceClaimName('sandbox-', { scope: 'thread', user: 'alice', thread: 'thread-1' });
    expect(created.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName).toBe(claimName);

    const released = await waitUngated(created);
    expect(gates(released)).toEqual([]);
    const claim = await readClaim(claimName);
    expect(claim?.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'sandbox-storage-webhook',
      'sandbox-storage.io/policy': 'default',
      'sandbox-storage.io/user': 'alice',
      'sandbox-storage.io/thread': 'thread-1',
    });
    expect(claim?.metadata?.labels?.['sandbox-storage.io/identity-hash']).toMatch(/^[a-z2-7]{51}$/);
    expect(claim?.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim?.spec?.resources?.requests?.storage).toBe('2Gi');
    expect(claim?.spec?.volumeMode).toBe('Filesystem');
    // No class in the policy: the field is left for the cluster default, not set to "".
    expect(claim?.spec?.storageClassName).toBeUndefined();
    // kube-controller-manager's pvc-protection is running against it.
    expect(claim?.metadata?.finalizers).toContain('kubernetes.io/pvc-protection');

    const provisioned = await waitForEvent('Pod', created.metadata?.name ?? '', 'WorkspaceProvisioned');
    expect(provisioned.message).toContain(`created PVC ${claimName} (2Gi, ReadWriteOnce`);
    // One Event per provisioning, on the Pod that waited; the PVC's Events are its binder's.
    expect((await eventsFor('PersistentVolumeClaim', claimName)).filter((event) => event.reason === 'WorkspaceProvisioned')).toEqual([]);

    // Storage already there: the next pod of that identity is gated only for the seed-script ConfigMap (configMap
    // delivery always gates: only the controller makes it exist), which is there too, so the gate goes at once.
    await waitFor(() => controller.claims.cache.get(claimName, namespace), { description: 'the PVC in the cache' });
    const second = await createPod(pod('alice', 'thread-1'));
    expect(gates(second)).toEqual(['sandbox-storage.io/storage']);
    await waitUngated(second);
  });

  it('scope user: many pods of one user over several threads share one PVC, created once', async () => {
    const createdBefore = await createdCount();
    await withPolicy(policies.perUser, async () => {
      const created = await Promise.all(Array.from({ length: 20 }, (_, i) => createPod(pod('bob', `thread-${i % 7}`))));
      for (const each of created) await waitUngated(each);
    });
    // One PVC key for all twenty pods: one create, however many pod events were queued.
    expect((await createdCount()) - createdBefore).toBe(1);
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: 'sandbox-storage.io/user=bob' });
    expect(claims.items.map((claim) => claim.metadata?.name)).toEqual([workspaceClaimName('sandbox-', { scope: 'user', user: 'bob' })]);
    expect(claims.items[0]?.metadata?.labels).not.toHaveProperty('sandbox-storage.io/thread');
  });

  it('dryRun creates nothing: the webhook never writes, and the controller never sees the pod', async () => {
    const dryRun = await core.createNamespacedPod({ namespace, body: pod('dry-run-user'), dryRun: 'All' });
    expect(gates(dryRun)).toEqual([gate]);
    // A real pod created afterwards is a barrier: once its PVC exists, the controller has handled everything before it.
    await waitUngated(await createPod(pod('after-dry-run')));
    expect(await readClaim(workspaceClaimName('sandbox-', { scope: 'thread', user: 'dry-run-user', thread: 't1' }))).toBeUndefined();
  });

  it('a PVC that stays Pending is reported on the pod with the binder\'s reason', async () => {
    const created = await withPolicy(policies.pendingFast, () => createPod(pod('pending-user')));
    await waitUngated(created);
    const event = await waitFor(
      async () =>
        (await eventsFor('Pod', created.metadata?.name ?? '')).find(
          (each) => each.reason === 'WorkspacePending' && /\(FailedBinding: .+\)/.test(each.message ?? ''),
        ),
      { description: 'a WorkspacePending Event quoting the binder', timeoutMs: 60_000 },
    );
    expect(event.type).toBe('Warning');
    expect(event.message).toMatch(/is still Pending after more than 1s \(FailedBinding: .*no storage class is set\)/);
  });
});

describe('the seeder\'s report', () => {
  /** What a kubelet writes once the seed init container ended with MESSAGE and the sandbox runs. */
  async function seedEnded(created: k8s.V1Pod, message: string, restartCount = 0): Promise<void> {
    const current = await readPod(created);
    const now = new Date();
    await core.replaceNamespacedPodStatus({
      namespace,
      name: created.metadata?.name ?? '',
      body: {
        ...current,
        status: {
          phase: 'Running',
          startTime: now,
          initContainerStatuses: [
            {
              name: 'sandbox-storage-seed',
              image: 'registry.example/sandbox:2',
              imageID: '',
              ready: true,
              restartCount,
              state: { terminated: { exitCode: 0, reason: 'Completed', message, startedAt: now, finishedAt: now } },
            },
          ],
        },
      },
    });
  }
  const report = 'sandbox-storage-seed-report 1\nbeside=1 unplaced=0 retype=1 moved=0\nbeside: notes.txt\nretype: tools\n';

  it('becomes one SeedConflicts Event on the Pod, however often the status changes; anything else in the message none', async () => {
    const first = await waitUngated(await createPod(pod('seed-report', 't1')));
    const forged = await waitUngated(await createPod(pod('seed-report', 't2')));
    const last = await waitUngated(await createPod(pod('seed-report', 't3')));
    await seedEnded(first, report);
    const event = await waitForEvent('Pod', first.metadata?.name ?? '', 'SeedConflicts');
    expect(event.type).toBe('Warning');
    expect(event.message).toBe(
      'the seeder kept 1 file(s) you changed that the image changed too; its new version is beside each as NAME.sandbox-storage-new: "notes.txt"; did not apply 1 type change(s) of the image (file <-> directory), your changes are in the way: "tools"',
    );
    expect(event.involvedObject.uid).toBe(first.metadata?.uid);
    // The same Pod's status changes again; a message that is no report on another. Watch events arrive in order,
    // so once the last Pod's Event is there, the controller has seen both.
    await seedEnded(first, report, 1);
    await seedEnded(forged, 'sandbox-storage seed: merged image ...: added 1, updated 0, kept 0, skipped 0, 3 bytes copied, 9 ms');
    await seedEnded(last, report.replace('retype=1', 'retype=0').replace('retype: tools\n', ''));
    expect((await waitForEvent('Pod', last.metadata?.name ?? '', 'SeedConflicts')).type).toBe('Normal');
    expect((await eventsFor('Pod', first.metadata?.name ?? '')).filter((item) => item.reason === 'SeedConflicts')).toHaveLength(1);
    expect((await eventsFor('Pod', forged.metadata?.name ?? '')).filter((item) => item.reason === 'SeedConflicts')).toEqual([]);
  });
});

describe('shared mode', () => {
  it('creates the shared PVC (ReadWriteMany) when the policy says createIfMissing', async () => {
    const created = await withPolicy(policies.sharedCreated, () => Promise.all([createPod(pod('carol')), createPod(pod('dave'))]));
    for (const each of created) await waitUngated(each);
    const claim = await readClaim('team-share');
    expect(claim?.spec?.accessModes).toEqual(['ReadWriteMany']);
    expect(claim?.spec?.resources?.requests?.storage).toBe('1Gi');
    expect(claim?.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('sandbox-storage-webhook');
  });

  it('reports a missing shared PVC it does not create, and releases the pod once an admin creates it', async () => {
    const created = await withPolicy(policies.sharedExisting, () => createPod(pod('erin')));
    expect(gates(created)).toEqual([gate]);
    const event = await waitForEvent('Pod', created.metadata?.name ?? '', 'SharedClaimMissing');
    expect(event.type).toBe('Warning');
    expect(event.message).toContain('shared PVC admin-share does not exist');
    expect(await readClaim('admin-share')).toBeUndefined();
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: { metadata: { name: 'admin-share' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } } },
    });
    await waitUngated(created);
  });
});

describe('ownership', () => {
  const foreignClaim = (name: string, labels: Record<string, string>) =>
    core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: { metadata: { name, labels }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });

  it('a PVC pre-created under the planned name by another identity is never mounted: webhook denies, controller warns', async () => {
    const claimName = workspaceClaimName('sandbox-', { scope: 'thread', user: 'victim', thread: 't1' });
    await foreignClaim(claimName, { 'sandbox-storage.io/user': 'mallory' });
    await waitFor(() => controller.claims.cache.get(claimName, namespace), { description: 'the foreign PVC in the cache' });
    let denial = '';
    await createPod(pod('victim')).catch((error: unknown) => {
      denial = String((error as k8s.ApiException<string>).body);
    });
    expect(denial).toContain(`PVC ${claimName} carries no valid ownership proof (annotation sandbox-storage.io/ownership-proof) and belongs to someone else (sandbox-storage.io/user=mallory`);

    // A webhook without the PVC cache admits the pod gated; the controller then refuses to release it.
    webhook.setClaims(undefined);
    const created = await createPod(pod('victim')).finally(() => webhook.setClaims(claimLookupFromCache(controller.claims)()));
    const event = await waitForEvent('Pod', created.metadata?.name ?? '', 'OwnershipUnproven');
    expect(event.type).toBe('Warning');
    expect(gates(await readPod(created))).toEqual([gate]);
    // What an operator sees: the pod waits visibly, and describe says why.
    const listed = await controlPlane.kubectl(['get', 'pod', created.metadata?.name ?? '', '-n', namespace]);
    expect(listed.stdout).toContain('SchedulingGated');
    const described = await controlPlane.kubectl(['describe', 'pod', created.metadata?.name ?? '', '-n', namespace]);
    expect(described.stdout).toMatch(/Warning\s+OwnershipUnproven/);
    expect((await readClaim(claimName))?.metadata?.labels).toEqual({ 'sandbox-storage.io/user': 'mallory' });
  });

  it('adopts a PVC with the identity\'s labels made by someone else only when the policy allows it', async () => {
    const claimName = workspaceClaimName('sandbox-', { scope: 'thread', user: 'frank', thread: 't1' });
    await foreignClaim(claimName, { 'sandbox-storage.io/user': 'frank', 'sandbox-storage.io/thread': 't1' });
    await waitFor(() => controller.claims.cache.get(claimName, namespace), { description: 'the PVC in the cache' });
    const refused = await createPod(pod('frank')).then(
      () => '',
      (error: unknown) => String((error as k8s.ApiException<string>).body),
    );
    expect(refused).toContain('spec.provisioning.adoptExisting: false');

    const created = await withPolicy(policies.adopting, () => createPod(pod('frank')));
    await waitUngated(created);
    expect((await readClaim(claimName))?.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'sandbox-storage-webhook',
      'sandbox-storage.io/policy': 'adopting',
    });
    // Adoption writes the proof with the labels: from now on the PVC is proven, not merely labelled.
    expect((await readClaim(claimName))?.metadata?.annotations?.['sandbox-storage.io/ownership-proof']).toMatch(/^v1:/);
    await waitForEvent('PersistentVolumeClaim', claimName, 'WorkspaceAdopted');
  });
});

describe('bad input never stops the loop', () => {
  it('a gated pod admitted under a policy the controller lacks gets a Warning; other pods are still served', async () => {
    const unknown = policyFrom({}, 'not-in-the-controller');
    const orphan = await withPolicy(unknown, () => createPod(pod('orphan')));
    const event = await waitForEvent('Pod', orphan.metadata?.name ?? '', 'ProvisioningFailed');
    expect(event.message).toContain('policy "not-in-the-controller", which this controller does not have');
    await waitUngated(await createPod(pod('after-orphan')));
    expect(gates(await readPod(orphan))).toEqual([gate]);
  });
});

describe('races', () => {
  it('a PVC created between our Get and our Create (409) counts as success', async () => {
    const ns = await createTestNamespace(controlPlane, 'race');
    const real = claimClient(controlPlane.kubeConfig);
    let interleaved = 0;
    // The first Get answers "not found", then someone else creates the same PVC before our Create.
    const racing: ClaimClient = {
      ...real,
      async get(namespace_, name) {
        if (namespace_ === ns && interleaved === 0) {
          interleaved += 1;
          return undefined;
        }
        return real.get(namespace_, name);
      },
      async create(plan, proof) {
        if (plan.namespace === ns && interleaved === 1) {
          interleaved += 1;
          await real.create(plan, proof);
        }
        return real.create(plan, proof);
      },
    };
    const second = await startTestController(controlPlane.kubeConfig, allPolicies, { claimClient: racing, readClaimsFromApi: true });
    try {
      // The shared controller acts too; whoever is first, the racing one meets an existing PVC on Create.
      const created = await createPod(pod('racer'), ns);
      await waitUngated(created);
      await waitFor(() => interleaved === 2, { description: 'the racing controller to hit 409 on Create' });
      const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: ns });
      expect(claims.items).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  it('its own writes seen late are not acted on again: the PVC it created, a stale cached Pod whose gate it removed', async () => {
    const ns = await createTestNamespace(controlPlane, 'stale-pod');
    // Not selected by the webhook or the file's controller (no inject label): only this reconciler acts on it.
    const body = pod('stale');
    delete body.metadata!.labels![defaultLabels.inject];
    body.spec!.schedulingGates = [{ name: gate }];
    const stale = await createPod(body, ns);
    const plan = planStorage(stale, policies.default, ns).claims[0]!;
    const real = podClient(controlPlane.kubeConfig);
    let patches = 0;
    const counting: PodClient = {
      async removeStorageGate(target) {
        patches += 1;
        return real.removeStorageGate(target);
      },
    };
    const logger = pino({ level: 'silent' });
    const realClaims = claimClient(controlPlane.kubeConfig);
    const answers: k8s.V1PersistentVolumeClaim[] = [];
    const reconciler = new ClaimReconciler({
      claims: {
        ...realClaims,
        async create(claimPlan, proof) {
          const answer = await realClaims.create(claimPlan, proof);
          if (answer !== 'exists') answers.push(answer);
          return answer;
        },
      },
      pods: counting,
      events: eventRecorder(controlPlane.kubeConfig, logger, 'stale-test'),
      metrics: controllerMetrics(createMetricsRegistry()),
      logger,
      claimEventMessage: claimEventMessages(controlPlane.kubeConfig),
      ownershipKey: async () => testOwnershipKey,
    });
    const users = { pods: [stale], plan, policy: policies.default };
    await reconciler.reconcile(users);
    expect(patches).toBe(1);
    expect(gates(await readPod(stale))).toEqual([]);
    // The PVC's first event is the create's own answer: nothing to reconcile, once. Any later event is news.
    expect(answers).toHaveLength(1);
    expect(reconciler.isOwnCreation(answers[0]!)).toBe(true);
    expect(reconciler.isOwnCreation(answers[0]!)).toBe(false);
    // The watch has not brought the new version yet (the PVC's own event triggers this reconcile first).
    await reconciler.reconcile(users);
    expect(patches).toBe(1);
    // Once a newer version is seen, nothing is remembered: a copy still showing the gate is patched (and found gone).
    reconciler.observePod(await readPod(stale));
    await reconciler.reconcile(users);
    expect(patches).toBe(2);
  });

  it('two controllers without election on a burst: every PVC exists once, and all pods are released', async () => {
    const ns = await createTestNamespace(controlPlane, 'two-controllers');
    const second = await startTestController(controlPlane.kubeConfig, allPolicies, { instance: 'second' });
    try {
      const created = await Promise.all(
        Array.from({ length: 20 }, (_, index) => createPod(pod(`user-${index % 10}`, `t${index % 3}`), ns)),
      );
      for (const each of created) await waitUngated(each);
      const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: ns });
      const expected = new Set(created.map((each) => each.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName));
      expect(claims.items.map((claim) => claim.metadata?.name).sort()).toEqual([...expected].sort());
      const metrics = (await controller.registry.metrics()) + (await second.registry.metrics());
      expect(metrics).toContain('sandbox_storage_pvcs_created_total');
    } finally {
      await second.stop();
    }
  });
});

describe('retention', () => {
  async function podGone(created: k8s.V1Pod): Promise<void> {
    await core.deleteNamespacedPod({ namespace, name: created.metadata?.name ?? '' });
    await waitFor(async () => {
      try {
        await readPod(created);
        return false;
      } catch (error) {
        return error instanceof k8s.ApiException && error.code === 404;
      }
    }, { description: `pod ${created.metadata?.name} to be gone` });
  }

  it('Retain keeps the PVC; Delete removes it (finalizers included) after the grace period; idle TTL also under Retain', async () => {
    const retained = await createPod(pod('keeper'));
    const deleted = await withPolicy(policies.deleteAfterGrace, () => createPod(pod('leaver')));
    const expiring = await withPolicy(policies.idleTtl, () => createPod(pod('idler')));
    for (const each of [retained, deleted, expiring]) await waitUngated(each);
    const claimOf = (p: k8s.V1Pod) => p.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName ?? '';
    // A PVC with the same labels that the controller did not create is never touched.
    const lookalikeName = 'sandbox-leaver-lookalike';
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: lookalikeName, labels: { 'sandbox-storage.io/user': 'leaver', 'sandbox-storage.io/policy': 'delete-after-grace' } },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });

    // Nor is one with forged ownership labels (managed-by, policy, identity hash): it carries no ownership proof.
    const forgedName = 'sandbox-leaver-forged';
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: {
          name: forgedName,
          labels: {
            'app.kubernetes.io/managed-by': 'sandbox-storage-webhook',
            'sandbox-storage.io/user': 'leaver',
            'sandbox-storage.io/policy': 'delete-after-grace',
            'sandbox-storage.io/identity-hash': 'a'.repeat(51),
          },
        },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });

    for (const each of [retained, deleted, expiring]) await podGone(each);
    const deletedAt = Date.now();
    // Gone for good: kube-controller-manager's pvc-protection finalizer was released, no Pod uses it any more.
    await waitFor(async () => (await readClaim(claimOf(deleted))) === undefined, { description: 'the Delete PVC to be gone', timeoutMs: 90_000 });
    expect(Date.now() - deletedAt).toBeGreaterThanOrEqual(1500);
    await waitFor(async () => (await readClaim(claimOf(expiring))) === undefined, { description: 'the idle PVC to be gone', timeoutMs: 90_000 });
    await waitForEvent('PersistentVolumeClaim', claimOf(deleted), 'WorkspaceDeleted');

    const kept = await readClaim(claimOf(retained));
    expect(kept?.metadata?.deletionTimestamp).toBeUndefined();
    expect(kept?.metadata?.annotations?.['sandbox-storage.io/unused-since']).toBeUndefined();
    expect(await readClaim(lookalikeName)).toBeDefined();
    const forged = await readClaim(forgedName);
    expect(forged?.metadata?.deletionTimestamp).toBeUndefined();
    expect(forged?.metadata?.annotations?.['sandbox-storage.io/unused-since']).toBeUndefined();
  }, 240_000);

  it('a returning pod gets a fresh gate-free start on its retained PVC, and the retention clock is cleared', async () => {
    const first = await withPolicy(policies.idleTtl, () => createPod(pod('returner')));
    await waitUngated(first);
    const claimName = first.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName ?? '';
    await core.deleteNamespacedPod({ namespace, name: first.metadata?.name ?? '' });
    await waitFor(async () => (await readClaim(claimName))?.metadata?.annotations?.['sandbox-storage.io/unused-since'], {
      description: 'the retention clock to start',
    });
    const second = await withPolicy(policies.idleTtl, () => createPod(pod('returner')));
    await waitUngated(second);
    await waitFor(async () => (await readClaim(claimName))?.metadata?.annotations?.['sandbox-storage.io/unused-since'] === undefined, {
      description: 'the retention clock to be cleared while a pod uses the PVC',
    });
  });
});

describe('quota', () => {
  it('denies the third workspace of a user at admission, naming the limit and the usage; existing workspaces still pass', async () => {
    await withPolicy(policies.quota, async () => {
      for (const thread of ['q1', 'q2']) await waitUngated(await createPod(pod('quinn', thread)));
      await waitFor(() => controller.claims.cache.list(namespace).filter((c) => c.metadata?.labels?.['sandbox-storage.io/user'] === 'quinn').length === 2, {
        description: 'both PVCs in the cache',
      });
      const denial = await createPod(pod('quinn', 'q3')).then(
        () => '',
        (error: unknown) => String((error as k8s.ApiException<string>).body),
      );
      expect(denial).toContain('QuotaExceeded: user \\"quinn\\" in namespace');
      expect(denial).toContain('already has 2 workspace PVCs (2Gi)');
      expect(denial).toContain('allows at most 2 (spec.quota.maxClaimsPerUser)');
      await waitUngated(await createPod(pod('quinn', 'q1')));
    });
  });

  it('the controller respects the quota too, for pods admitted without a PVC cache', async () => {
    webhook.setClaims(undefined);
    const created = await withPolicy(policies.quota, () => createPod(pod('quinn', 'q4'))).finally(() =>
      webhook.setClaims(claimLookupFromCache(controller.claims)()),
    );
    const event = await waitForEvent('Pod', created.metadata?.name ?? '', 'QuotaExceeded');
    expect(event.type).toBe('Warning');
    expect(event.message).toContain('spec.quota.maxClaimsPerUser');
    expect(gates(await readPod(created))).toEqual([gate]);
    const claimName = workspaceClaimName('sandbox-', { scope: 'thread', user: 'quinn', thread: 'q4' });
    expect(await readClaim(claimName)).toBeUndefined();
  });
});

describe('metrics', () => {
  it('counts reconciles by result, PVCs created and gates removed, with a latency histogram', async () => {
    const text = await controller.registry.metrics();
    expect(text).toMatch(/sandbox_storage_reconciles_total\{result="success"\} [1-9]/);
    expect(text).toMatch(/sandbox_storage_pvcs_created_total\{role="workspace"\} [1-9]/);
    expect(text).toMatch(/sandbox_storage_pvcs_created_total\{role="shared"\} 1/);
    expect(text).toMatch(/sandbox_storage_scheduling_gates_removed_total [1-9]/);
    expect(text).toContain('sandbox_storage_reconcile_duration_seconds_bucket');
    expect(text).toContain('sandbox_storage_queue_depth');
  });
});
