// Directory preparation through a real kube-apiserver (+ kube-controller-manager) with the webhook registered over
// HTTPS: a sandbox Pod in a `restricted` namespace on a shared claim is gated, the controller runs a preparation Pod
// in its own namespace on the admin's claim, and releases the sandbox once that Pod succeeded. There is no kubelet:
// the test runs the Pod's own script for real in a temporary directory, then writes the status a kubelet would.
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  preparationKey,
  preparationPlan,
  preparationPodName,
  type PreparationTarget,
} from '../../src/controller/directory-preparation.ts';
import { claimLookupFromCache } from '../../src/kube/claim-lookup.ts';
import type { Policy } from '../../src/policy/types.ts';
import { policyFrom } from '../fixtures/pods.ts';
import { startTestController, type TestController } from '../harness/controller.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import {
  registerMutatingWebhook,
  shippedMutatingWebhook,
  startTestWebhook,
  waitUntilWebhookActive,
  type RunningWebhook,
} from '../harness/webhook.ts';
import { waitFor } from '../harness/wait.ts';
import { storageSchedulingGate } from '../../src/labels.ts';

const gate = storageSchedulingGate;
const image = 'registry.example/sandbox-storage:test';
const owner = { uid: 1000, gid: 2000 };
const policy: Policy = policyFrom(
  {
    mode: 'shared',
    shared: {
      claimName: 'team-share',
      mounts: [
        { subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' },
        { subPath: 'users/{user}/skills', mountPath: '/skills', readOnly: true },
      ],
      preparation: { enabled: true, claimName: 'admin-share' },
    },
  },
  'prepared',
);

/** A more specific policy for Pods labelled elsewhere=yes, whose preparation namespace does not exist. */
const elsewhere: Policy = policyFrom(
  {
    podSelector: { matchLabels: { 'sandbox-storage.io/inject': 'true', 'example.com/elsewhere': 'yes' } },
    mode: 'shared',
    shared: { claimName: 'team-share', preparation: { enabled: true, claimName: 'admin-share', namespace: 'no-such-namespace' } },
  },
  'elsewhere',
);

let controlPlane: ControlPlane;
let webhook: RunningWebhook;
let controller: TestController;
let core: k8s.CoreV1Api;
let sandboxNamespace: string;
let systemNamespace: string;
const cleanups: Array<() => Promise<unknown>> = [];
const temporaryDirectories: string[] = [];

/** A sandbox Pod the `restricted` level admits on its own: uid 1000, gid 2000. */
function sandboxPod(user: string, thread: string): k8s.V1Pod {
  return {
    metadata: {
      generateName: 'sandbox-',
      labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': user, 'sandbox-storage.io/thread': thread },
    },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: owner.uid, runAsGroup: owner.gid, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'sandbox',
          image: 'registry.example/sandbox:1',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

/** The name the controller gives the preparation Pod of (user, thread) under the policy. */
function expectedPreparationName(user: string, thread: string): string {
  const target: PreparationTarget = {
    namespace: systemNamespace,
    claimName: 'admin-share',
    runAs: 'root',
    mode: '0700',
    plan: preparationPlan(policy, { user, thread }),
    owner,
  };
  return preparationPodName(preparationKey(target));
}

const gates = (pod: k8s.V1Pod) => (pod.spec?.schedulingGates ?? []).map((entry) => entry.name);

async function readPod(namespace: string, name: string): Promise<k8s.V1Pod | undefined> {
  try {
    return await core.readNamespacedPod({ namespace, name });
  } catch (error) {
    if (error instanceof k8s.ApiException && error.code === 404) return undefined;
    throw error;
  }
}

async function waitForPod(namespace: string, name: string, differentFrom?: string): Promise<k8s.V1Pod> {
  return waitFor(
    async () => {
      const pod = await readPod(namespace, name);
      return pod && !pod.metadata?.deletionTimestamp && pod.metadata?.uid !== differentFrom ? pod : undefined;
    },
    { description: `pod ${namespace}/${name}${differentFrom ? ' (a new one)' : ''}`, timeoutMs: 60_000 },
  );
}

async function waitForEvent(pod: k8s.V1Pod, reason: string, matching: (message: string) => boolean = () => true): Promise<k8s.CoreV1Event> {
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  return waitFor(
    async () => {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` });
      return list.items.find((event) => event.reason === reason && matching(event.message ?? ''));
    },
    { description: `a ${reason} Event on pod ${name}`, timeoutMs: 60_000 },
  );
}

async function waitUngated(pod: k8s.V1Pod): Promise<k8s.V1Pod> {
  return waitFor(
    async () => {
      const current = await readPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '');
      return current && !gates(current).includes(gate) ? current : undefined;
    },
    { description: `the storage gate of pod ${pod.metadata?.name} to be removed`, timeoutMs: 60_000 },
  );
}

/** What a kubelet writes when the container ended: phase and a terminated container status. */
async function finish(pod: k8s.V1Pod, exitCode: number, message: string): Promise<void> {
  const now = new Date();
  const container = pod.spec?.containers[0];
  await core.replaceNamespacedPodStatus({
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    body: {
      ...pod,
      status: {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        startTime: now,
        containerStatuses: [
          {
            name: container?.name ?? '',
            image: container?.image ?? '',
            imageID: '',
            ready: false,
            restartCount: 0,
            containerID: 'containerd://0123456789abcdef',
            state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', message, startedAt: now, finishedAt: now } },
          },
        ],
      },
    },
  });
}

/** Runs the preparation Pod's own command with its env, the share's identity prefix at a temporary directory. */
function runPreparationPod(pod: k8s.V1Pod): { root: string; prefix: string; stdout: string } {
  const container = pod.spec?.containers[0];
  const root = mkdtempSync(join(tmpdir(), 'prepare-share-'));
  temporaryDirectories.push(root);
  const subPath = container?.volumeMounts?.[0]?.subPath ?? '';
  const prefix = join(root, subPath);
  mkdirSync(prefix, { recursive: true }); // kubelet creates the missing subPath, as root
  const env = Object.fromEntries((container?.env ?? []).map((variable) => [variable.name, variable.value ?? '']));
  const [shell, flag, script] = container?.command ?? [];
  const result = spawnSync(shell ?? '', [flag ?? '', script ?? ''], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, PREP_ROOT: prefix },
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
  return { root, prefix, stdout: result.stdout };
}

function ownerAndMode(path: string): string {
  const stats = lstatSync(path);
  return `${stats.uid}:${stats.gid} ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

async function preparationPodsCreated(): Promise<number> {
  const metric = await controller.registry.getSingleMetric('sandbox_storage_preparation_pods_created_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

async function preparations(result: string): Promise<number> {
  const metric = await controller.registry.getSingleMetric('sandbox_storage_directory_preparations_total')?.get();
  return metric?.values.find((value) => value.labels.result === result)?.value ?? 0;
}

beforeAll(async () => {
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  sandboxNamespace = await createTestNamespace(controlPlane, 'prep-sandboxes', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  systemNamespace = await createTestNamespace(controlPlane, 'prep-system', { 'pod-security.kubernetes.io/enforce': 'baseline' });
  const claim = (name: string): k8s.V1PersistentVolumeClaim => ({
    metadata: { name },
    spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
  });
  await core.createNamespacedPersistentVolumeClaim({ namespace: sandboxNamespace, body: claim('team-share') });
  await core.createNamespacedPersistentVolumeClaim({ namespace: systemNamespace, body: claim('admin-share') });

  controller = await startTestController(controlPlane.kubeConfig, [policy, elsewhere], {
    preparation: { namespace: systemNamespace, image, retryBaseMs: 1_000 },
  });
  cleanups.unshift(() => controller.stop());
  webhook = await startTestWebhook([policy, elsewhere]);
  webhook.setClaims(claimLookupFromCache(controller.claims)());
  cleanups.unshift(() => webhook.stop());
  cleanups.unshift(
    await registerMutatingWebhook(controlPlane.kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', webhook.url, webhook.tls.caPem)),
  );
  await waitUntilWebhookActive(controlPlane.kubeConfig, sandboxNamespace, sandboxPod('probe', 't'), (created) => (created.spec?.volumes ?? []).length > 0);
  // The webhook's PVC cache must know the shared claim, or every Pod is gated for that reason alone.
  await waitFor(async () => controller.claims.cache.get('team-share', sandboxNamespace), { description: 'the shared claim in the cache', timeoutMs: 30_000 });
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  for (const directory of temporaryDirectories) rmSync(directory, { recursive: true, force: true });
});

describe('directory preparation', () => {
  it('gates the sandbox, prepares its directories with a preparation Pod, then releases it', async () => {
    const sandbox = await core.createNamespacedPod({ namespace: sandboxNamespace, body: sandboxPod('alice', 't1') });
    expect(gates(sandbox)).toEqual([gate]);

    const preparation = await waitForPod(systemNamespace, expectedPreparationName('alice', 't1'));
    const container = preparation.spec?.containers[0];
    // Only this identity's prefix of the admin's claim is mounted; root with nothing but the chown capabilities.
    expect(container?.volumeMounts).toEqual([{ name: 'share', mountPath: '/sandbox-storage/prepare', subPath: 'users/alice' }]);
    expect(preparation.spec?.volumes).toEqual([{ name: 'share', persistentVolumeClaim: { claimName: 'admin-share' } }]);
    expect(container?.securityContext).toMatchObject({
      runAsUser: 0,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] },
    });
    expect(container).toMatchObject({ image, terminationMessagePolicy: 'FallbackToLogsOnError' });
    expect(container?.env).toEqual(
      expect.arrayContaining([
        { name: 'PREP_UID', value: '1000' },
        { name: 'PREP_GID', value: '2000' },
        { name: 'PREP_DIRS', value: '0700 threads/t1/user-data\n0700 skills' },
      ]),
    );
    expect(preparation.spec).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false });
    // The sandbox waits meanwhile.
    const waiting = await readPod(sandboxNamespace, sandbox.metadata?.name ?? '');
    expect(gates(waiting as k8s.V1Pod)).toEqual([gate]);

    // What the Pod's container would do on the share, for real, then what its kubelet would report.
    const { prefix, stdout } = runPreparationPod(preparation);
    for (const path of ['', 'threads', 'threads/t1', 'threads/t1/user-data', 'skills']) {
      expect({ path, owner: ownerAndMode(join(prefix, path)) }).toEqual({ path, owner: '1000:2000 0700' });
    }
    expect(stdout).toContain('prepared 5 directories');
    await finish(preparation, 0, stdout);

    const released = await waitUngated(sandbox);
    expect(gates(released)).toEqual([]);
    const event = await waitForEvent(sandbox, 'DirectoriesPrepared');
    expect(event.type).toBe('Normal');
    expect(event.message).toBe(
      `prepared users/alice (threads/t1/user-data, skills) on claim ${systemNamespace}/admin-share for 1000:2000, mode 0700`,
    );
    await waitFor(async () => ((await readPod(systemNamespace, preparation.metadata?.name ?? '')) === undefined ? true : undefined), {
      description: 'the finished preparation Pod to be deleted',
      timeoutMs: 30_000,
    });
    expect(await preparations('succeeded')).toBe(1);
  });

  it('a second Pod with the same identity and directories starts without a new preparation; a new thread gets one', async () => {
    const createdBefore = await preparationPodsCreated();
    const again = await core.createNamespacedPod({ namespace: sandboxNamespace, body: sandboxPod('alice', 't1') });
    expect(gates(again)).toEqual([gate]);
    // No kubelet runs here: a new preparation Pod would never finish, so the release itself shows none was needed.
    await waitUngated(again);
    expect(await preparationPodsCreated()).toBe(createdBefore);
    expect(await readPod(systemNamespace, expectedPreparationName('alice', 't1'))).toBeUndefined();

    const newThread = await core.createNamespacedPod({ namespace: sandboxNamespace, body: sandboxPod('alice', 't2') });
    const preparation = await waitForPod(systemNamespace, expectedPreparationName('alice', 't2'));
    expect(preparation.spec?.containers[0]?.env).toContainEqual({ name: 'PREP_DIRS', value: '0700 threads/t2/user-data\n0700 skills' });
    expect(gates((await readPod(sandboxNamespace, newThread.metadata?.name ?? '')) as k8s.V1Pod)).toEqual([gate]);
  });

  it('a failed preparation is reported with its message on the sandbox, which stays gated, and is retried', async () => {
    const sandbox = await core.createNamespacedPod({ namespace: sandboxNamespace, body: sandboxPod('bob', 't1') });
    const name = expectedPreparationName('bob', 't1');
    const first = await waitForPod(systemNamespace, name);
    const message = 'sandbox-storage prepare: error: /sandbox-storage/prepare/threads is a symlink: refusing to prepare through it';
    await finish(first, 1, `${message}\n`);

    const event = await waitForEvent(sandbox, 'PreparationFailed');
    expect(event.type).toBe('Warning');
    expect(event.message).toContain(`directory preparation failed (Pod ${systemNamespace}/${name}): ${message}; retrying in 1s`);
    const retry = await waitForPod(systemNamespace, name, first.metadata?.uid);
    expect(retry.metadata?.uid).not.toBe(first.metadata?.uid);
    expect(gates((await readPod(sandboxNamespace, sandbox.metadata?.name ?? '')) as k8s.V1Pod)).toEqual([gate]);
    expect(await preparations('failed')).toBeGreaterThanOrEqual(1);

    // The retry succeeds: the sandbox is released.
    await finish(retry, 0, 'sandbox-storage prepare: prepared 5 directories\n');
    await waitUngated(sandbox);
    await waitForEvent(sandbox, 'DirectoriesPrepared');
  });

  it('a sandbox without runAsUser has nobody to prepare for: a Warning, and it starts unprepared', async () => {
    const body = sandboxPod('carol', 't1');
    body.spec = { ...body.spec, containers: body.spec?.containers ?? [], securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } };
    const sandbox = await core.createNamespacedPod({ namespace: sandboxNamespace, body });
    expect(gates(sandbox)).toEqual([gate]);
    const event = await waitForEvent(sandbox, 'PreparationSkipped');
    expect(event.type).toBe('Warning');
    expect(event.message).toContain('the sandbox container declares no runAsUser');
    await waitUngated(sandbox);
    const left = await core.listNamespacedPod({ namespace: systemNamespace, labelSelector: 'sandbox-storage.io/purpose=prepare-directories' });
    expect(left.items.map((pod) => pod.spec?.containers[0]?.volumeMounts?.[0]?.subPath)).not.toContain('users/carol');
  });

  it('a preparation Pod whose sandbox went away before it finished is removed once it finishes', async () => {
    const sandbox = await core.createNamespacedPod({ namespace: sandboxNamespace, body: sandboxPod('erin', 't1') });
    const name = expectedPreparationName('erin', 't1');
    const preparation = await waitForPod(systemNamespace, name);
    await core.deleteNamespacedPod({ namespace: sandboxNamespace, name: sandbox.metadata?.name ?? '', gracePeriodSeconds: 0 });
    await waitFor(async () => ((await readPod(sandboxNamespace, sandbox.metadata?.name ?? '')) === undefined ? true : undefined), {
      description: 'the sandbox pod to be gone',
      timeoutMs: 60_000,
    });
    // Still running: it is left to finish.
    expect((await readPod(systemNamespace, name))?.metadata?.uid).toBe(preparation.metadata?.uid);
    await finish(preparation, 0, 'sandbox-storage prepare: prepared 4 directories\n');
    await waitFor(async () => ((await readPod(systemNamespace, name)) === undefined ? true : undefined), {
      description: `the abandoned preparation pod ${name} to be deleted`,
      timeoutMs: 60_000,
    });
  });

  it('a preparation Pod that cannot be created is reported on the sandbox, which stays gated', async () => {
    const body = sandboxPod('dave', 't1');
    body.metadata = { ...body.metadata, labels: { ...body.metadata?.labels, 'example.com/elsewhere': 'yes' } };
    const sandbox = await core.createNamespacedPod({ namespace: sandboxNamespace, body });
    const event = await waitForEvent(sandbox, 'PreparationFailed');
    expect(event.type).toBe('Warning');
    expect(event.message).toMatch(/^cannot create the directory-preparation Pod no-such-namespace\/sandbox-storage-prepare-[a-z2-7]{20}: HTTP 404: namespaces "no-such-namespace" not found; retrying in 1s$/);
    expect(gates((await readPod(sandboxNamespace, sandbox.metadata?.name ?? '')) as k8s.V1Pod)).toEqual([gate]);
  });
});
