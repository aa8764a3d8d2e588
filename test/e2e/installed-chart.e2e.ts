// The chart as installed (deploy/kind/up.sh): the Deployment has every replica ready, the self-managed CA bundle is
// in place. Only in installed mode: on the local real node the product runs as `sandbox-storage run`, not the chart.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { release } from '../harness/helm.ts';
import { cluster, kubeConfig } from './setup/cluster-context.ts';

describe.runIf(cluster.mode === 'installed')('installed chart', () => {
  it('runs every replica ready', async () => {
    const deployment = await kubeConfig.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: release.name, namespace: release.namespace });
    expect(deployment.status?.readyReplicas).toBe(deployment.spec?.replicas);
  });

  it('has its CA bundle in the webhook configuration', async () => {
    const configuration = await kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: release.name });
    expect(configuration.webhooks?.[0]?.clientConfig.caBundle ?? '').not.toBe('');
  });
});
