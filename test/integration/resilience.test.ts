// The controller under disruption, as real processes against a real API server: kube-apiserver stopped and
// restarted in the middle of a burst of Pod creations, and SIGTERM of the leader under load. Afterwards every
// planned PVC exists, exactly once, and every Pod has been released.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { sandboxPodFor } from '../fixtures/pods.ts';
import { controllerReplicaArgs, startControllerProcess, type ControllerProcess } from '../harness/controller-process.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import {
  registerShippedWebhook,
  startTestWebhook,
  type RunningWebhook,
} from '../harness/webhook.ts';
import { waitFor } from '../harness/wait.ts';
import { storageSchedulingGate } from '../../src/labels.ts';

const gate = storageSchedulingGate;
const pod = sandboxPodFor;
let controlPlane: ControlPlane;
let webhook: RunningWebhook;
let core: k8s.CoreV1Api;
let leaseNamespace: string;
const replicas: ControllerProcess[] = [];
const cleanups: Array<() => Promise<unknown>> = [];


function startReplica(identity: string): ControllerProcess {
  const replica = startControllerProcess(
    controllerReplicaArgs({ kubeconfigPath: controlPlane.kubeconfigPath, leaseNamespace, identity }),
  );
  replicas.push(replica);
  return replica;
}

async function leaseHolder(): Promise<string | undefined> {
  const coordination = controlPlane.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  try {
    const lease = await coordination.readNamespacedLease({ namespace: leaseNamespace, name: 'sandbox-storage-controller' });
    return lease.spec?.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}

/** Creates a Pod, retrying while the API server is away (as a client with retries would). */
async function createPersistently(namespace: string, body: k8s.V1Pod): Promise<k8s.V1Pod> {
  return waitFor(
    async () => core.createNamespacedPod({ namespace, body: structuredClone(body) }),
    { description: 'a pod create to go through', timeoutMs: 180_000, intervalMs: 250 },
  );
}

async function expectEveryPlannedClaimOnce(namespace: string): Promise<number> {
  // Each Pod's planned PVC is in its spec (the webhook's mutation): derive the set from the Pods that exist.
  const pods = await waitFor(
    async () => {
      const list = await core.listNamespacedPod({ namespace });
      const gated = list.items.filter((item) => (item.spec?.schedulingGates ?? []).some((g) => g.name === gate));
      return gated.length === 0 ? list.items : undefined;
    },
    { description: `every pod in ${namespace} to be released`, timeoutMs: 180_000, intervalMs: 500 },
  );
  const planned = new Set(pods.map((item) => item.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName));
  const claims = await core.listNamespacedPersistentVolumeClaim({ namespace });
  const names = claims.items.map((claim) => claim.metadata?.name);
  expect(names.sort()).toEqual([...planned].sort());
  expect(new Set(names).size).toBe(names.length);
  return names.length;
}

beforeAll(async () => {
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  leaseNamespace = await createTestNamespace(controlPlane, 'sandbox-storage-system');
  webhook = await startTestWebhook(embeddedDefaultPolicies());
  cleanups.unshift(() => webhook.stop());
  cleanups.unshift(
    await registerShippedWebhook(controlPlane.kubeConfig, { url: webhook.url, caPem: webhook.tls.caPem }, { namespace: leaseNamespace, pod: pod('probe', 't') }),
  );
  cleanups.unshift(async () => {
    for (const replica of replicas) await replica.stop();
  });
  startReplica('replica-a');
  startReplica('replica-b');
  await waitFor(leaseHolder, { description: 'a lease holder', timeoutMs: 60_000 });
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('resilience', () => {
  it('kube-apiserver stopped and restarted in the middle of a burst: every planned PVC exists afterwards, once', async () => {
    const namespace = await createTestNamespace(controlPlane, 'apiserver-restart');
    const bodies = Array.from({ length: 60 }, (_, i) => pod(`user-${i % 19}`, `t${i % 4}`));
    let created = 0;
    const burst = (async () => {
      // Four clients creating Pods one after the other, so the outage falls in the middle of the burst.
      await Promise.all(
        [0, 1, 2, 3].map(async (lane) => {
          for (let i = lane; i < bodies.length; i += 4) {
            await createPersistently(namespace, bodies[i] as k8s.V1Pod);
            created += 1;
          }
        }),
      );
    })();
    await waitFor(() => created >= 12, { description: 'the first part of the burst' });
    await controlPlane.stopApiServer();
    const createdWhenStopped = created;
    await controlPlane.startApiServer();
    await burst;
    expect(createdWhenStopped).toBeLessThan(bodies.length);
    const count = await expectEveryPlannedClaimOnce(namespace);
    expect(count).toBeGreaterThan(40);
    expect(await leaseHolder()).toBeDefined();
    const seen = (message: string) => replicas.flatMap((replica) => replica.logs).filter((line) => line.msg === message).length;
    process.stdout.write(
      `API server outage: ${createdWhenStopped}/${bodies.length} pods created before it; controller log: ${seen('reconcile failed; retrying')} reconcile retries, ${seen('watch failed; restarting')} watch restarts, ${seen('lost leadership; campaigning again')} leadership losses\n`,
    );
  }, 400_000);

  it('SIGTERM of the leader under load: in-flight work finishes or the next leader does it', async () => {
    const namespace = await createTestNamespace(controlPlane, 'sigterm-under-load');
    const holder = await waitFor(leaseHolder, { description: 'a lease holder' });
    const leader = replicas.find((replica) => replica.logs.some((line) => line.identity === holder && line.msg === 'became leader'));
    expect(leader).toBeDefined();
    const pods = Promise.all(Array.from({ length: 40 }, (_, i) => createPersistently(namespace, pod(`load-${i % 17}`, `t${i % 3}`))));
    // Terminate while the burst is being reconciled.
    await waitFor(async () => (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.length >= 3, {
      description: 'the leader to be busy with the burst',
    });
    const claimsAtSigterm = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.length;
    leader?.child.kill('SIGTERM');
    expect(await leader?.exited).toBe(0);
    process.stdout.write(`SIGTERM with ${claimsAtSigterm} PVCs of the burst created\n`);
    await pods;
    await waitFor(async () => {
      const next = await leaseHolder();
      return next !== undefined && next !== holder;
    }, { description: 'the other replica to take the lease', timeoutMs: 60_000 });
    await expectEveryPlannedClaimOnce(namespace);
  }, 400_000);
});
