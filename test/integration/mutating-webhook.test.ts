// The webhook through a real kube-apiserver: TLS + caBundle, the AdmissionReview protocol, patch application and
// the API server's own validation of the patched Pod, selectors, reinvocation, dryRun and failurePolicy.
import { seedScriptConfigMapName, seedScriptVolumeName } from '../../src/admission/seed-script-delivery.ts';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedContainerName } from '../../src/admission/seed-container.ts';
import { volumeNames } from '../../src/admission/storage-layout.ts';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import type { Policy } from '../../src/policy/types.ts';
import { policyFrom } from '../fixtures/pods.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { startSidecarWebhook, type SidecarWebhook } from '../harness/sidecar-webhook.ts';
import {
  registerMutatingWebhook,
  registerShippedWebhook,
  startTestWebhook,
  waitUntilWebhookActive,
  type RunningWebhook,
} from '../harness/webhook.ts';
import { waitFor } from '../harness/wait.ts';

let controlPlane: ControlPlane;
let webhook: RunningWebhook;
let core: k8s.CoreV1Api;
let namespace: string;
const cleanups: Array<() => Promise<unknown>> = [];

function pod(
  labels: Record<string, string>,
  spec: Partial<k8s.V1PodSpec> = {},
  metadata: Partial<k8s.V1ObjectMeta> = { generateName: 'sandbox-' },
): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...metadata, labels },
    spec: { containers: [{ name: 'sandbox', image: 'registry.example/sandbox:1', command: ['sleep', 'infinity'] }], ...spec },
  };
}

const sandboxLabels = (user = 'alice', thread = 't1') => ({
  'sandbox-storage.io/inject': 'true',
  'sandbox-storage.io/user': user,
  'sandbox-storage.io/thread': thread,
});

async function create(body: k8s.V1Pod, dryRun = false): Promise<k8s.V1Pod> {
  return core.createNamespacedPod({ namespace, body, ...(dryRun ? { dryRun: 'All' } : {}) });
}

async function rejection(body: k8s.V1Pod): Promise<{ code: number; message: string }> {
  try {
    await create(body);
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      const status = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
      return { code: error.code, message: status.message as string };
    }
    throw error;
  }
  throw new Error('expected the API server to refuse the pod');
}

const ourVolumes = (created: k8s.V1Pod) => (created.spec?.volumes ?? []).filter((volume) => volume.name.startsWith('sandbox-storage-'));

beforeAll(async () => {
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  namespace = await createTestNamespace(controlPlane, 'mutating-webhook');
  webhook = await startTestWebhook(embeddedDefaultPolicies());
  cleanups.unshift(() => webhook.stop());
  cleanups.unshift(
    await registerShippedWebhook(controlPlane.kubeConfig, { url: webhook.url, caPem: webhook.tls.caPem }, { namespace: namespace, pod: pod(sandboxLabels()), isMutated: (created) => ourVolumes(created).length > 0 }),
  );
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

function withPolicies<T>(policies: Policy[], body: () => Promise<T>): Promise<T> {
  webhook.setPolicies(policies);
  return body().finally(() => webhook.setPolicies(embeddedDefaultPolicies()));
}

describe('through the real API server', () => {
  it('a sandbox pod comes back with its workspace PVC, seed init container and mount', async () => {
    const created = await create(pod(sandboxLabels('Alice_Smith', 'thread-42')));
    const claimName = workspaceClaimName('sandbox-', { scope: 'thread', user: 'Alice_Smith', thread: 'thread-42' });
    expect(created.metadata?.name).toMatch(/^sandbox-/);
    expect(ourVolumes(created)).toEqual([
      { name: volumeNames.workspace, persistentVolumeClaim: { claimName } },
      { name: seedScriptVolumeName, configMap: { name: seedScriptConfigMapName(), defaultMode: 0o444 } },
    ]);
    // The home directory the seeder makes, not the volume root (docs/seeding.md, "The home directory").
    expect(created.spec?.containers[0]?.volumeMounts).toContainEqual({ name: volumeNames.workspace, mountPath: '/sandbox', subPath: '.sandbox-storage-home' });
    expect(created.spec?.initContainers?.map((container) => container.name)).toEqual([seedContainerName]);
    expect(created.spec?.initContainers?.[0]?.image).toBe('registry.example/sandbox:1');
    expect(created.metadata?.annotations?.['sandbox-storage.io/policy']).toBe('default');
    // the service account admission plugin's volume is still there, untouched
    expect(created.spec?.volumes?.some((volume) => volume.name.startsWith('kube-api-access-'))).toBe(true);
    const stored = await core.readNamespacedPod({ name: created.metadata!.name!, namespace });
    expect(ourVolumes(stored)).toEqual(ourVolumes(created));
  });

  it('a pod without the opt-in label is not sent to the webhook and stays untouched', async () => {
    const before = webhook.outcomes.length;
    const created = await create(pod({ app: 'web', 'sandbox-storage.io/user': 'alice' }));
    expect(ourVolumes(created)).toEqual([]);
    expect(created.spec?.initContainers).toBeUndefined();
    expect(webhook.outcomes.length).toBe(before);
  });

  it('a sandbox pod with an invalid id is refused with the webhook message', async () => {
    const refused = await rejection(pod({ 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/thread': 't1' }));
    expect(refused.code).toBe(403);
    expect(refused.message).toContain('admission webhook "mutate.sandbox-storage.io" denied the request');
    expect(refused.message).toContain('label sandbox-storage.io/user (the user id) is required on sandbox pods selected by policy "default"');
    const tooLong = await rejection(pod(sandboxLabels('alice', 'x'.repeat(64))));
    expect(tooLong.message).toContain('label sandbox-storage.io/thread (the thread id) has invalid value');
  });

  it('dryRun=All returns the mutated pod and leaves nothing behind', async () => {
    const name = 'dry-run-sandbox';
    const result = await create(pod(sandboxLabels('dry', 'run'), {}, { name }), true);
    expect(ourVolumes(result).map((volume) => volume.name)).toEqual([volumeNames.workspace, seedScriptVolumeName]);
    expect(webhook.outcomes.at(-1)?.request?.dryRun).toBe(true);
    await expect(core.readNamespacedPod({ name, namespace })).rejects.toMatchObject({ code: 404 });
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace });
    expect(claims.items).toEqual([]);
  });

  it('is reinvoked after another webhook adds a container, and the result stays correct', async () => {
    const sidecar: SidecarWebhook = await startSidecarWebhook('log-shipper');
    // Configurations run in name order: ours first, then this one, which changes the pod and triggers reinvocation.
    const configuration: k8s.V1MutatingWebhookConfiguration = {
      metadata: { name: 'zz-sidecar-injector' },
      webhooks: [
        {
          name: 'sidecar.example.com',
          admissionReviewVersions: ['v1'],
          clientConfig: { url: `${sidecar.url}/`, caBundle: Buffer.from(sidecar.tls.caPem).toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
          objectSelector: { matchLabels: { 'with-sidecar': 'true' } },
        },
      ],
    };
    const unregister = await registerMutatingWebhook(controlPlane.kubeConfig, configuration);
    try {
      const labels = { ...sandboxLabels('reinvoke', 't'), 'with-sidecar': 'true' };
      await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, pod(labels), (created) =>
        created.spec!.containers.some((container) => container.name === 'log-shipper'),
      );
      const name = 'reinvoked-sandbox';
      const created = await create(pod(labels, {}, { name }));
      const calls = webhook.outcomes.filter((outcome) => outcome.request?.name === name);
      expect(calls.map((outcome) => outcome.result)).toEqual(['mutated', 'unchanged']);
      expect(created.spec?.containers.map((container) => container.name)).toEqual(['sandbox', 'log-shipper']);
      expect(ourVolumes(created).map((volume) => volume.name)).toEqual([volumeNames.workspace, seedScriptVolumeName]);
      expect(created.spec?.initContainers?.map((container) => container.name)).toEqual([seedContainerName]);
      expect(created.spec?.containers[0]?.volumeMounts?.filter((mount) => mount.name === volumeNames.workspace).length).toBe(1);
    } finally {
      await unregister();
      await sidecar.stop();
    }
  });
});

describe('every policy shape yields a pod the API server accepts', () => {
  const shapes: Array<[string, Policy, Partial<k8s.V1PodSpec>, Record<string, string>?]> = [
    ['workspace, thread scope', embeddedDefaultPolicies()[0]!, {}],
    ['workspace, user scope, no thread label', policyFrom({ workspace: { scope: 'user', size: '10Gi', storageClassName: 'fast' } }), {}, {
      'sandbox-storage.io/inject': 'true',
      'sandbox-storage.io/user': 'Bob.Builder',
    }],
    ['workspace, custom mount path and seed path', policyFrom({ workspace: { mountPath: '/home/agent' }, seed: { path: '/home/agent' } }), {}],
    ['workspace, seeding off', policyFrom({ seed: { enabled: false } }), {}],
    [
      'shared, three mounts, read-only and read-write',
      policyFrom({
        mode: 'shared',
        shared: {
          claimName: 'sandbox-shared',
          mounts: [
            { subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' },
            { subPath: 'users/{user}/skills', mountPath: '/skills', readOnly: true },
            { subPath: 'users/{user}/threads/{thread}/outputs', mountPath: '/mnt/outputs' },
          ],
        },
      }),
      {},
    ],
    [
      'named container among several, existing init containers and volumes, restricted security context',
      policyFrom({ container: 'agent' }),
      {
        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        initContainers: [{ name: 'setup', image: 'busybox', command: ['true'] }],
        containers: [
          { name: 'proxy', image: 'envoy' },
          {
            name: 'agent',
            image: 'registry.example/agent:2',
            imagePullPolicy: 'IfNotPresent',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
        ],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    ],
    [
      'pod already mounting /sandbox keeps its own volume',
      embeddedDefaultPolicies()[0]!,
      {
        containers: [{ name: 'sandbox', image: 'i', volumeMounts: [{ name: 'mine', mountPath: '/sandbox' }] }],
        volumes: [{ name: 'mine', emptyDir: {} }],
      },
    ],
  ];

  it.each(shapes)('%s', async (_, policy, spec, labels) => {
    await withPolicies([policy], async () => {
      const created = await create(pod(labels ?? sandboxLabels('Carol_C', 'T.9'), spec));
      const outcome = webhook.outcomes.at(-1)!;
      expect(outcome.result).not.toBe('denied');
      const expected = outcome.plan!;
      // what the API server stored equals what the plan computed (plus the API server's own defaults)
      const plannedVolumes = ((expected.mutated as { spec: k8s.V1PodSpec }).spec.volumes ?? []).filter((volume) =>
        volume.name.startsWith('sandbox-storage-'),
      );
      expect(ourVolumes(created)).toEqual(plannedVolumes);
      const plannedInit = ((expected.mutated as { spec: k8s.V1PodSpec }).spec.initContainers ?? []).map((container) => container.name);
      expect(created.spec?.initContainers?.map((container) => container.name) ?? []).toEqual(plannedInit);
    });
  });
});

describe('webhook down (failurePolicy: Fail)', () => {
  it('refuses sandbox pods with a clear error and still admits other pods', async () => {
    await webhook.server.stop();
    await waitFor(
      async () => {
        try {
          await create(pod(sandboxLabels('down', 't')), true);
          return false;
        } catch (error) {
          return error instanceof k8s.ApiException && error.code >= 500;
        }
      },
      { description: 'the API server to fail calling the stopped webhook', timeoutMs: 30_000 },
    );
    const refused = await rejection(pod(sandboxLabels('down', 't')));
    expect(refused.code).toBe(500);
    expect(refused.message).toContain('failed calling webhook "mutate.sandbox-storage.io"');
    const other = await create(pod({ app: 'web' }));
    expect(other.metadata?.uid).toBeTruthy();
  });
});
