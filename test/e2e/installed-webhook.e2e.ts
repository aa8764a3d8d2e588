// Against a cluster where the chart is installed (deploy/kind/up.sh): the Deployment is available with every
// replica ready, the self-managed CA bundle is in place, and sandbox Pods are mutated through the Service.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxPod } from '../fixtures/pods.ts';
import { release } from '../harness/helm.ts';
import { waitFor } from '../harness/wait.ts';

const kubeconfigPath = process.env.SANDBOX_STORAGE_E2E_KUBECONFIG;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let admission: k8s.AdmissionregistrationV1Api;
let objects: k8s.CustomObjectsApi;
const policyName = `e2e-${Date.now().toString(36)}`;
const namespace = `sandbox-storage-e2e-${Date.now().toString(36)}`;
const injected = (pod: k8s.V1Pod) => (pod.spec?.volumes ?? []).some((volume) => volume.name.startsWith('sandbox-storage-'));

beforeAll(async () => {
  if (!kubeconfigPath) throw new Error('set SANDBOX_STORAGE_E2E_KUBECONFIG to the kubeconfig of a cluster with the chart installed');
  const config = new k8s.KubeConfig();
  config.loadFromFile(kubeconfigPath);
  core = config.makeApiClient(k8s.CoreV1Api);
  apps = config.makeApiClient(k8s.AppsV1Api);
  admission = config.makeApiClient(k8s.AdmissionregistrationV1Api);
  objects = config.makeApiClient(k8s.CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'sandbox-storage-e2e': namespace } } } });
  // The default install has no policies of its own: one for this namespace only.
  await objects.createClusterCustomObject({
    group: 'sandbox-storage.io',
    version: 'v1alpha1',
    plural: 'sandboxstoragepolicies',
    body: {
      apiVersion: 'sandbox-storage.io/v1alpha1',
      kind: 'SandboxStoragePolicy',
      metadata: { name: policyName },
      spec: { mode: 'workspace', namespaceSelector: { matchLabels: { 'sandbox-storage-e2e': namespace } } },
    },
  });
});

afterAll(async () => {
  await objects?.deleteClusterCustomObject({ group: 'sandbox-storage.io', version: 'v1alpha1', plural: 'sandboxstoragepolicies', name: policyName }).catch(() => undefined);
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('installed webhook', () => {
  it('runs every replica ready', async () => {
    const deployment = await apps.readNamespacedDeployment({ name: release.name, namespace: release.namespace });
    expect(deployment.status?.readyReplicas).toBe(deployment.spec?.replicas);
  });

  it('has its CA bundle in the webhook configuration', async () => {
    const configuration = await admission.readMutatingWebhookConfiguration({ name: release.name });
    expect(configuration.webhooks?.[0]?.clientConfig.caBundle ?? '').not.toBe('');
  });

  it('mutates sandbox Pods through the Service', async () => {
    const pod = await waitFor(
      async () => {
        const created = await core.createNamespacedPod({ namespace, body: sandboxPod() as unknown as k8s.V1Pod, dryRun: 'All' });
        return injected(created) ? created : undefined;
      },
      { description: 'a dry-run sandbox Pod to come back with its storage', timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(pod.spec?.initContainers?.length ?? 0).toBeGreaterThan(0);
  });
});
