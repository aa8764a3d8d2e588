// Two `sandbox-storage controller` processes on one API server: exactly one reconciles; kill -9 it and the other
// takes over within the lease duration; no PVC is lost or duplicated; SIGTERM releases the Lease.
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

const leaseDurationSeconds = 6;
const gate = storageSchedulingGate;
const pod = sandboxPodFor;
let controlPlane: ControlPlane;
let webhook: RunningWebhook;
let core: k8s.CoreV1Api;
let coordination: k8s.CoordinationV1Api;
let namespace: string;
let leaseNamespace: string;
const replicas = new Map<string, ControllerProcess>();
const cleanups: Array<() => Promise<unknown>> = [];


function startReplica(identity: string): ControllerProcess {
  const replica = startControllerProcess(
    controllerReplicaArgs({ kubeconfigPath: controlPlane.kubeconfigPath, leaseNamespace, identity, leaseDurationSeconds }),
  );
  replicas.set(identity, replica);
  return replica;
}

async function leaseHolder(): Promise<string | undefined> {
  try {
    const lease = await coordination.readNamespacedLease({ namespace: leaseNamespace, name: 'sandbox-storage-controller' });
    return lease.spec?.holderIdentity || undefined;
  } catch (error) {
    if (error instanceof k8s.ApiException && error.code === 404) return undefined;
    throw error;
  }
}

async function metricsOf(replica: ControllerProcess): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${await replica.metricsPort()}/metrics`);
  return response.text();
}

async function waitAllReleased(pods: k8s.V1Pod[]): Promise<void> {
  await waitFor(
    async () => {
      const list = await core.listNamespacedPod({ namespace });
      const byName = new Map(list.items.map((item) => [item.metadata?.name, item]));
      return pods.every((each) => !(byName.get(each.metadata?.name)?.spec?.schedulingGates ?? []).some((g) => g.name === gate));
    },
    { description: 'every pod to have its storage gate removed', timeoutMs: 120_000, intervalMs: 250 },
  );
}

function plannedClaimNames(pods: k8s.V1Pod[]): string[] {
  const names = pods.map((each) => each.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName ?? '');
  return [...new Set(names)].sort();
}

beforeAll(async () => {
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  coordination = controlPlane.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  namespace = await createTestNamespace(controlPlane, 'leader-election');
  leaseNamespace = await createTestNamespace(controlPlane, 'sandbox-storage-system');
  webhook = await startTestWebhook(embeddedDefaultPolicies());
  cleanups.unshift(() => webhook.stop());
  cleanups.unshift(
    await registerShippedWebhook(controlPlane.kubeConfig, { url: webhook.url, caPem: webhook.tls.caPem }, { namespace: namespace, pod: pod('probe', 't') }),
  );
  cleanups.unshift(async () => {
    for (const replica of replicas.values()) await replica.stop();
  });
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('leader election between two controller processes', () => {
  it('exactly one replica acts; after kill -9 of it the other takes over; no PVC lost or duplicated', async () => {
    startReplica('replica-a');
    startReplica('replica-b');
    const leader = await waitFor(leaseHolder, { description: 'a lease holder', timeoutMs: 60_000 });
    const follower = leader === 'replica-a' ? 'replica-b' : 'replica-a';
    const leaderProcess = replicas.get(leader) as ControllerProcess;
    const followerProcess = replicas.get(follower) as ControllerProcess;

    const firstBurst = await Promise.all(Array.from({ length: 10 }, (_, i) => core.createNamespacedPod({ namespace, body: pod(`u${i % 5}`, `first-${i % 2}`) })));
    await waitAllReleased(firstBurst);
    expect(await metricsOf(leaderProcess)).toMatch(/^sandbox_storage_leader 1$/m);
    expect(await metricsOf(followerProcess)).toMatch(/^sandbox_storage_leader 0$/m);
    expect(await metricsOf(followerProcess)).not.toMatch(/sandbox_storage_pvcs_created_total\{/);
    const events = await core.listNamespacedEvent({ namespace, fieldSelector: 'reason=WorkspaceProvisioned' });
    expect(events.items.length).toBeGreaterThan(0);
    expect(new Set(events.items.map((event) => event.reportingInstance))).toEqual(new Set([leader]));

    // kill -9: no release, so the follower must wait for the lease to expire.
    const killedAt = Date.now();
    leaderProcess.child.kill('SIGKILL');
    await leaderProcess.exited;
    const secondBurst = await Promise.all(Array.from({ length: 10 }, (_, i) => core.createNamespacedPod({ namespace, body: pod(`u${i % 5}`, `second-${i % 2}`) })));
    await waitFor(async () => (await leaseHolder()) === follower, { description: `${follower} to take the lease`, timeoutMs: 120_000, intervalMs: 100 });
    const failoverMs = Date.now() - killedAt;
    process.stdout.write(`leader failover after kill -9: ${failoverMs} ms (lease duration ${leaseDurationSeconds} s, retry period 1 s)\n`);
    // The follower can only see expiry on its own clock: up to lease duration + one retry period + API latency.
    expect(failoverMs).toBeGreaterThanOrEqual(leaseDurationSeconds * 1000 - 1500);

    await waitAllReleased(secondBurst);
    const all = [...firstBurst, ...secondBurst];
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace });
    expect(claims.items.map((claim) => claim.metadata?.name).sort()).toEqual(plannedClaimNames(all));
    expect(await metricsOf(followerProcess)).toMatch(/^sandbox_storage_leader 1$/m);
  });

  it('SIGTERM releases the lease: the holder becomes empty and the process exits 0', async () => {
    const holder = await waitFor(leaseHolder, { description: 'a lease holder' });
    const replica = replicas.get(holder) as ControllerProcess;
    replica.child.kill('SIGTERM');
    expect(await replica.exited).toBe(0);
    expect(await leaseHolder()).toBeUndefined();
    expect(replica.logs.some((line) => line.msg === 'lease released')).toBe(true);
  });
});
