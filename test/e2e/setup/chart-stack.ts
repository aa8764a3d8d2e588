// The product on the real test node as a cluster admin installs it: the project's image built without Docker
// (test/harness/product-image.ts) and imported into the node's containerd, then `helm install` of the chart with its
// defaults plus what a node without a Pod network needs: hostNetwork=true, the local image (pullPolicy Never: there
// is no registry), and free ports (the node's network is this shared host's). Ready means: every replica Ready and
// listening, the leader Lease held by one of them, and the CA bundle issued and patched in by the running Pods.
// stop() uninstalls the chart and proves that PVCs and a sandbox user's data stay (uninstall-check.ts).
import * as k8s from '@kubernetes/client-node';
import { freePorts } from '../../harness/controlplane.ts';
import { chartDirectory, helm, release } from '../../harness/helm.ts';
import { buildProductImage, type ProductImage } from '../../harness/product-image.ts';
import type { RealNode } from '../../harness/real-node.ts';
import { startServiceProxy, type ServiceProxy } from '../../harness/service-proxy.ts';
import { waitFor } from '../../harness/wait.ts';

export interface ChartStack {
  image: ProductImage;
  proxy: ServiceProxy;
  /** Installed-to-ready, in milliseconds, for the run's summary line. */
  timings: { imageMs: number; installMs: number; readyMs: number };
  uninstall(): Promise<void>;
  stop(): Promise<void>;
}

const tlsSecretName = `${release.name}-tls`;

async function podLogs(node: RealNode, pod: string): Promise<string> {
  const result = await node.controlPlane.kubectl(['logs', '-n', release.namespace, pod]);
  return result.stdout;
}

/** What the installed release is made of once it is ready; throws with the missing part otherwise. */
async function readiness(node: RealNode): Promise<string> {
  const kubeConfig = node.kubeConfig;
  const deployment = await kubeConfig.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: release.name, namespace: release.namespace });
  const wanted = deployment.spec?.replicas ?? 0;
  const status = deployment.status;
  if (wanted < 2 || status?.readyReplicas !== wanted || status.updatedReplicas !== wanted) {
    throw new Error(`Deployment: ${status?.readyReplicas ?? 0}/${wanted} ready, ${status?.updatedReplicas ?? 0} updated`);
  }
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const pods = (await core.listNamespacedPod({ namespace: release.namespace, labelSelector: `app.kubernetes.io/instance=${release.name}` })).items.filter(
    (pod) => pod.metadata?.deletionTimestamp === undefined,
  );
  const names = pods.map((pod) => pod.metadata?.name ?? '');
  const notReady = pods.filter((pod) => !pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'));
  if (pods.length !== wanted || notReady.length > 0) throw new Error(`Pods ${names.join(', ')}: not Ready: ${notReady.map((pod) => pod.metadata?.name).join(', ')}`);
  // With hostNetwork a probe may be answered by another replica on the node: each replica's own log must say it
  // listens, on the node's address (not on every interface of this host).
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    const listening = (await podLogs(node, name))
      .split('\n')
      .filter((line) => line.includes('"msg":"webhook server listening"'))
      .map((line) => JSON.parse(line) as { host?: string });
    if (listening.length === 0) throw new Error(`Pod ${name} does not listen yet`);
    if (listening.some((line) => line.host !== pod.status?.hostIP)) throw new Error(`Pod ${name} listens on ${JSON.stringify(listening.map((line) => line.host))}, not on its node's address ${pod.status?.hostIP}`);
  }
  const lease = await kubeConfig.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: release.name, namespace: release.namespace });
  const holder = lease.spec?.holderIdentity ?? '';
  if (!names.includes(holder)) throw new Error(`Lease ${release.name} held by "${holder}", not by one of ${names.join(', ')}`);
  const secret = await core.readNamespacedSecret({ name: tlsSecretName, namespace: release.namespace });
  const caBundle = secret.data?.['ca.crt'] ?? '';
  const admission = kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);
  const mutating = await admission.readMutatingWebhookConfiguration({ name: release.name });
  const validating = await admission.readValidatingWebhookConfiguration({ name: release.name });
  const bundles = [...(mutating.webhooks ?? []), ...(validating.webhooks ?? [])].map((webhook) => webhook.clientConfig.caBundle ?? '');
  if (caBundle === '' || bundles.some((bundle) => bundle !== caBundle)) throw new Error('the CA bundle of the webhook configurations is not yet the one in the certificate Secret');
  return holder;
}

export async function startChartStack(node: RealNode, log: (line: string) => void): Promise<ChartStack> {
  const startedAt = Date.now();
  const image = await buildProductImage(log);
  await node.importImage(image.archive);
  const imageMs = Date.now() - startedAt;
  const proxy = await startServiceProxy(node.kubeConfig, log);
  const kubeconfigArgs = ['--kubeconfig', node.kubeconfigPath];
  let installed = false;
  const uninstall = async () => {
    if (!installed) return;
    installed = false;
    const result = await helm(['uninstall', release.name, '--namespace', release.namespace, '--wait', '--timeout', '120s', ...kubeconfigArgs]);
    if (result.code !== 0) throw new Error(`helm uninstall failed (${result.code}): ${result.stderr}`);
  };
  const stop = async () => {
    try {
      await uninstall();
    } finally {
      await proxy.stop();
    }
  };
  try {
    await proxy.add('default', 'kubernetes');
    const [port, metricsPort] = await freePorts(2);
    const installedAt = Date.now();
    const result = await helm([
      'install', release.name, chartDirectory, '--namespace', release.namespace, '--create-namespace', ...kubeconfigArgs,
      '--set', 'hostNetwork=true',
      '--set', `image.repository=${image.repository}`,
      '--set', `image.tag=${image.tag}`,
      '--set', 'image.pullPolicy=Never',
      '--set', `port=${port}`,
      '--set', `metrics.port=${metricsPort}`,
    ]);
    if (result.code !== 0) throw new Error(`helm install failed (${result.code}): ${result.stderr}`);
    installed = true;
    await proxy.add(release.namespace, release.name);
    const installMs = Date.now() - installedAt;
    const holder = await waitFor(() => readiness(node), { description: 'the installed chart ready (replicas, leader, CA bundle)', timeoutMs: 180_000, intervalMs: 500 }).catch(async (error: unknown) => {
      const pods = await node.controlPlane.kubectl(['get', 'pods,events', '-n', release.namespace, '-o', 'wide']);
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${pods.stdout}${pods.stderr}`);
    });
    log(`chart installed: ${image.reference}, leader ${holder}`);
    return { image, proxy, timings: { imageMs, installMs, readyMs: Date.now() - installedAt }, uninstall, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
