// Tenant isolation through the real request path (kubectl -> API server -> validating webhook -> kubelet): exec into
// another tenant's sandbox, and an ephemeral container (`kubectl debug`) mounting another tenant's storage, are refused;
// the owner's own exec and a debug container without the shared volume go through.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait.ts';
import { adminGroups, cluster, core, createNamespace, createPolicy, exec, kubeConfig, kubectl, runPod, sandboxPod, waitUntilPolicyApplies } from './setup/cluster-context.ts';
import { createSharedVolume, sharedPolicy, sharedVolumeName } from './setup/shared-volume.ts';

let namespace: string;
let workDir: string;
const cleanups: Array<() => Promise<void>> = [];
const tenants = ['alice', 'bob', 'mallory'];

beforeAll(async () => {
  const created = await createNamespace('e2e-isolation');
  namespace = created.name;
  cleanups.push(created.remove);
  workDir = await mkdtemp(join(tmpdir(), 'e2e-isolation-'));
  cleanups.push(() => rm(workDir, { recursive: true, force: true }));
  const volume = await createSharedVolume(namespace);
  cleanups.unshift(volume.remove);
  cleanups.unshift(await createPolicy(`${namespace}-shared`, namespace, sharedPolicy(volume, adminGroups)));
  // RBAC lets both tenants exec and debug in the namespace: refusals below come from the webhook, not from RBAC.
  const rbac = kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'tenant' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create'] },
        { apiGroups: [''], resources: ['pods/exec', 'pods/attach'], verbs: ['get', 'create'] },
        { apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['get', 'patch', 'update'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'tenants' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' },
      subjects: tenants.map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
    },
  });
  await waitUntilPolicyApplies(namespace, sandboxPod({ user: 'probe', thread: 'p' }));
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('tenant isolation on a real node', () => {
  it('refuses exec into another tenant\'s sandbox and lets the owner in', async () => {
    const pod = await runPod(namespace, sandboxPod({ user: 'alice', thread: 't1' }));
    const name = pod.metadata?.name ?? '';
    const own = await exec(namespace, name, 'echo inside; id -u', { user: 'alice' });
    expect(own.stderr).toBe('');
    expect(own.stdout).toBe('inside\n1000\n');
    const foreign = await exec(namespace, name, 'cat /sandbox/* 2>/dev/null; echo inside', { user: 'bob' });
    expect(foreign.code).not.toBe(0);
    expect(foreign.stdout).toBe('');
    expect(foreign.stderr).toContain('denied the request');
    expect(foreign.stderr).toContain('RequesterBinding');
  });

  it('refuses an ephemeral debug container that mounts the shared volume beyond the tenant\'s directories', async () => {
    const pod = await runPod(namespace, sandboxPod({ user: 'bob', thread: 't1' }));
    const name = pod.metadata?.name ?? '';
    const volumeName = sharedVolumeName(await core.readNamespacedPod({ namespace, name }), 'sandbox-data');
    const debug = async (container: string, mount: Record<string, unknown>) => {
      const custom = join(workDir, `${container}.json`);
      await writeFile(custom, JSON.stringify({ volumeMounts: [{ name: volumeName, ...mount }] }));
      return kubectl(['--as=bob', '--as-group=system:authenticated', 'debug', '-n', namespace, name, `--image=${cluster.images.busybox}`, `--container=${container}`, `--custom=${custom}`, '--', 'sleep', '600']);
    };
    // The whole share: every tenant's directories.
    const whole = await debug('peek', { mountPath: '/all' });
    expect(whole.code).not.toBe(0);
    expect(whole.stderr).toContain('denied the request');
    expect(whole.stderr).toMatch(/ephemeral container "peek"/);
    // (The API server itself forbids subPath in ephemeral containers: the whole volume is their only way in.)
    // Without the shared volume: allowed, and the container really starts.
    const custom = join(workDir, 'plain.json');
    await writeFile(custom, JSON.stringify({}));
    const own = await kubectl(['--as=bob', '--as-group=system:authenticated', 'debug', '-n', namespace, name, `--image=${cluster.images.busybox}`, '--container=own', `--custom=${custom}`, '--', 'sleep', '600']);
    expect(own.stderr).not.toContain('denied');
    expect(own.code).toBe(0);
    await waitFor(
      async () => (await core.readNamespacedPod({ namespace, name })).status?.ephemeralContainerStatuses?.find((status) => status.name === 'own')?.state?.running,
      { description: 'the permitted debug container to run', timeoutMs: 60_000, intervalMs: 250 },
    );
    const live = await core.readNamespacedPod({ namespace, name });
    expect((live.spec?.ephemeralContainers ?? []).map((container) => container.name)).toEqual(['own']);
  });

  it('refuses a Pod whose ephemeral volume would plant the shared claim, so no such PVC ever appears', async () => {
    // kube-controller-manager would name the PVC "<pod>-<volume>": "sandbox" + "-" + "data" = the shared claim.
    const planting = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sandbox', namespace },
      spec: {
        containers: [{ name: 'main', image: cluster.images.busybox, command: ['sleep', '600'] }],
        volumes: [{ name: 'data', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } } } } }],
      },
    };
    const file = join(workDir, 'planting.json');
    await writeFile(file, JSON.stringify(planting));
    const created = await kubectl(['--as=mallory', '--as-group=system:authenticated', 'create', '-f', file]);
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain('denied the request');
    expect(created.stderr).toContain('EphemeralClaimInGovernedNames');
    const pods = await core.listNamespacedPod({ namespace });
    expect(pods.items.map((pod) => pod.metadata?.name)).not.toContain('sandbox');
  });
});
