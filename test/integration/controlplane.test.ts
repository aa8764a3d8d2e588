// The test control plane itself: versions, controllers doing their job, clean teardown.
import { existsSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test control plane', () => {
  let controlPlane: ControlPlane;
  let core: k8s.CoreV1Api;
  let namespace: string;

  beforeAll(async () => {
    controlPlane = await startControlPlane({ controllerManager: true });
    core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
    namespace = await createTestNamespace(controlPlane, 'controlplane', { purpose: 'harness-test' });
  });

  afterAll(async () => {
    await controlPlane?.stop();
  });

  it('serves Kubernetes v1.37.2 to kubectl through the written kubeconfig', async () => {
    const result = await controlPlane.kubectl(['version', '-o', 'json']);
    expect(result.code, result.stderr).toBe(0);
    const versions = JSON.parse(result.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    expect(versions.serverVersion.gitVersion).toBe('v1.37.2');
    expect(versions.clientVersion.gitVersion).toBe('v1.37.2');
  });

  it('creates a uniquely named namespace with labels and its default ServiceAccount', async () => {
    expect(namespace).toMatch(/^controlplane-[0-9a-f]{8}$/);
    const created = await core.readNamespace({ name: namespace });
    expect(created.metadata?.labels?.purpose).toBe('harness-test');
    const serviceAccount = await core.readNamespacedServiceAccount({ name: 'default', namespace });
    expect(serviceAccount.metadata?.name).toBe('default');
  });

  it('admits a Pod, which stays Pending without a scheduler or kubelet', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'sleeper' },
        spec: { containers: [{ name: 'main', image: 'busybox:1.37', command: ['sleep', '3600'] }] },
      },
    });
    const pod = await core.readNamespacedPod({ name: 'sleeper', namespace });
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.spec?.serviceAccountName).toBe('default');
  });

  it('removes the pvc-protection finalizer, so a deleted PVC really goes away', async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: 'scratch' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'scratch', namespace });
    expect(claim.metadata?.finalizers).toContain('kubernetes.io/pvc-protection');

    await core.deleteNamespacedPersistentVolumeClaim({ name: 'scratch', namespace });
    await waitFor(
      async () => {
        try {
          await core.readNamespacedPersistentVolumeClaim({ name: 'scratch', namespace });
          return false;
        } catch (error) {
          if (error instanceof k8s.ApiException && error.code === 404) return true;
          throw error;
        }
      },
      { description: `PVC ${namespace}/scratch to be gone`, timeoutMs: 60_000, intervalMs: 200 },
    );
  });

  it('reports startup timings', () => {
    const { etcdHealthyMs, apiServerReadyMs, controllerManagerReadyMs, totalMs } = controlPlane.startup;
    console.log(
      `control plane startup: etcd ${etcdHealthyMs} ms, API server ready ${apiServerReadyMs} ms, ` +
        `controller manager ready ${controllerManagerReadyMs} ms, total ${totalMs} ms`,
    );
    expect(apiServerReadyMs).toBeGreaterThan(etcdHealthyMs);
    expect(controllerManagerReadyMs).toBeGreaterThanOrEqual(apiServerReadyMs);
  });

  it('stops every process and removes its directory', async () => {
    const pids = controlPlane.processes.map((child) => child.pid);
    expect(controlPlane.processes.map((child) => child.name)).toEqual([
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
    ]);
    expect(pids.every(isRunning)).toBe(true);

    await controlPlane.stop();

    expect(pids.filter(isRunning)).toEqual([]);
    expect(existsSync(controlPlane.dir)).toBe(false);
    await controlPlane.stop(); // idempotent: afterAll calls it again
  });
});
