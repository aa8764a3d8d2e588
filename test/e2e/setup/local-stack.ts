// The product on the real test node, deployed the way the chart deploys it minus the container: `sandbox-storage run`
// (webhook + controller) as the shipped ServiceAccount with the shipped RBAC, policies from the cluster's
// SandboxStoragePolicy objects, and the shipped webhook registrations pointed at it over HTTPS with a caBundle.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { startControllerProcess, type ControllerProcess } from '../../harness/controller-process.ts';
import type { RealNode } from '../../harness/real-node.ts';
import { serviceAccountKubeconfig } from '../../harness/service-account.ts';
import { writeServingCertificate, type ServingCertificate } from '../../harness/tls.ts';
import { waitFor } from '../../harness/wait.ts';
import { shippedMutatingWebhook } from '../../harness/webhook.ts';

export const systemNamespace = 'sandbox-storage-system';
const manifest = (path: string) => fileURLToPath(new URL(`../../../deploy/${path}`, import.meta.url));

/** The chart's rule for `policySource: cluster`, which deploy/manifests (file policies) does not carry. */
const clusterPolicyReader = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'sandbox-storage-webhook-policies' },
    rules: [{ apiGroups: ['sandbox-storage.io'], resources: ['sandboxstoragepolicies'], verbs: ['get', 'list', 'watch'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'sandbox-storage-webhook-policies' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'sandbox-storage-webhook-policies' },
    subjects: [{ kind: 'ServiceAccount', name: 'sandbox-storage-webhook', namespace: systemNamespace }],
  },
];

function shippedValidatingWebhook(url: string, caPem: string): k8s.V1ValidatingWebhookConfiguration {
  const configuration = parseYaml(readFileSync(manifest('manifests/validating-webhook.yaml'), 'utf8')) as k8s.V1ValidatingWebhookConfiguration;
  for (const webhook of configuration.webhooks ?? []) {
    webhook.clientConfig = { url: `${url}${webhook.clientConfig.service?.path ?? '/'}`, caBundle: Buffer.from(caPem).toString('base64') };
  }
  return configuration;
}

export interface LocalStack {
  process: ControllerProcess;
  stop(): Promise<void>;
}

export async function startLocalStack(node: RealNode, preparationImage: string): Promise<LocalStack> {
  const { controlPlane } = node;
  const apply = async (args: string[], input?: string) => {
    const result = await controlPlane.kubectl(['apply', ...args], input === undefined ? undefined : { input });
    if (result.code !== 0) throw new Error(`kubectl apply ${args.join(' ')} failed: ${result.stderr}`);
  };
  await apply(['-f', manifest('crds/sandbox-storage.io_sandboxstoragepolicies.yaml')]);
  await controlPlane.kubectl(['create', 'namespace', systemNamespace]);
  const kubeconfig = await serviceAccountKubeconfig(controlPlane, systemNamespace);
  await apply(['-f', manifest('manifests/webhook-lookups-rbac.yaml')]);
  await apply(['-f', '-'], clusterPolicyReader.map((object) => JSON.stringify(object)).join('\n'));

  const tls: ServingCertificate = await writeServingCertificate();
  const process = startControllerProcess([
    'run',
    `--tls-cert-file=${tls.certFile}`,
    `--tls-key-file=${tls.keyFile}`,
    '--host=127.0.0.1',
    '--port=0',
    `--kubeconfig=${kubeconfig}`,
    '--cluster-policies',
    `--lease-namespace=${systemNamespace}`,
    `--preparation-namespace=${systemNamespace}`,
    `--preparation-image=${preparationImage}`,
    '--identity=e2e-replica',
    '--metrics-host=127.0.0.1',
    '--metrics-port=0',
  ]);
  try {
    const port = await waitFor(() => process.logs.find((line) => line.msg === 'webhooks and controller started')?.port as number | undefined, {
      description: 'sandbox-storage run to start',
      timeoutMs: 60_000,
    });
    const url = `https://127.0.0.1:${port}`;
    const admission = controlPlane.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);
    await admission.createMutatingWebhookConfiguration({ body: shippedMutatingWebhook('sandbox-storage-webhook', url, tls.caPem) });
    await admission.createValidatingWebhookConfiguration({ body: shippedValidatingWebhook(url, tls.caPem) });
  } catch (error) {
    await process.stop();
    await tls.remove();
    throw error;
  }
  return {
    process,
    async stop() {
      await process.stop();
      await tls.remove();
    },
  };
}
