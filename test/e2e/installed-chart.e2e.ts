// The chart as installed (deploy/kind/up.sh, or SANDBOX_STORAGE_E2E_MODE=chart on the local node): every replica
// ready, one of them leader, and the self-managed CA bundle issued and patched in by the running Pods. Not in the
// default local mode: there the product runs as `sandbox-storage run`, not the chart.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { release } from '../harness/helm.ts';
import { cluster, core, kubeConfig, kubectl } from './setup/cluster-context.ts';

async function releasePods(): Promise<k8s.V1Pod[]> {
  const pods = await core.listNamespacedPod({ namespace: release.namespace, labelSelector: `app.kubernetes.io/instance=${release.name}` });
  return pods.items.filter((pod) => pod.metadata?.deletionTimestamp === undefined);
}

describe.runIf(cluster.mode === 'installed' || cluster.mode === 'local-chart')('installed chart', () => {
  it('runs every replica ready', async () => {
    const deployment = await kubeConfig.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: release.name, namespace: release.namespace });
    expect(deployment.spec?.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.status?.readyReplicas).toBe(deployment.spec?.replicas);
    const pods = await releasePods();
    expect(pods).toHaveLength(deployment.spec?.replicas ?? 0);
    for (const pod of pods) {
      expect(pod.status?.conditions?.find((condition) => condition.type === 'Ready')?.status, pod.metadata?.name).toBe('True');
    }
  });

  it('has one of its running Pods as the leader', async () => {
    const lease = await kubeConfig.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: release.name, namespace: release.namespace });
    expect((await releasePods()).map((pod) => pod.metadata?.name)).toContain(lease.spec?.holderIdentity);
  });

  it('has the CA bundle its Pods issued in both webhook configurations', async () => {
    const secret = await core.readNamespacedSecret({ name: `${release.name}-tls`, namespace: release.namespace });
    const issued = secret.data?.['ca.crt'] ?? '';
    expect(Buffer.from(issued, 'base64').toString('utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const admission = kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);
    const webhooks = [
      ...((await admission.readMutatingWebhookConfiguration({ name: release.name })).webhooks ?? []),
      ...((await admission.readValidatingWebhookConfiguration({ name: release.name })).webhooks ?? []),
    ];
    expect(webhooks.length).toBeGreaterThanOrEqual(2);
    for (const webhook of webhooks) expect(webhook.clientConfig.caBundle, webhook.name).toBe(issued);
    // Patched by the product itself, not by the chart (which renders no caBundle in self-managed mode).
    const logs = await Promise.all((await releasePods()).map(async (pod) => (await kubectl(['logs', '-n', release.namespace, pod.metadata?.name ?? ''])).stdout));
    expect(logs.join('\n')).toContain('CA bundle patched into webhook configuration');
  });
});
