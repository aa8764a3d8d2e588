// What the end-to-end test files get from the global setup, and the few cluster operations they all use: namespaces,
// policies, Pods, exec. Works the same against the local real node and an installed cluster.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import { waitFor } from '../../harness/wait.ts';
import { defaultLabels } from '../../../src/labels.ts';

export interface E2eCluster {
  /** local-node: the product as `sandbox-storage run` on the real node; local-chart: the chart installed there. */
  mode: 'local-node' | 'local-chart' | 'installed';
  kubeconfigPath: string;
  kubectlPath: string;
  /** Namespace of the controller: directory-preparation Pods and their admin claims live there. */
  systemNamespace: string;
  images: { pause: string; busybox: string; sandbox1: string; sandbox2: string; shellLess: string };
  /** A node directory for statically provisioned hostPath PVs (the shared volume of shared mode). */
  hostPathRoot: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2eCluster: E2eCluster;
  }
}

export const cluster = inject('e2eCluster');
export const kubeConfig = new k8s.KubeConfig();
kubeConfig.loadFromFile(cluster.kubeconfigPath);
export const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
const objects = kubeConfig.makeApiClient(k8s.CustomObjectsApi);

export const labels = defaultLabels;
/** Groups whose members may create sandbox Pods for any user: the admin of the local node and of kind. */
export const adminGroups = ['system:masters', 'kubeadm:cluster-admins'];

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(args: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cluster.kubectlPath, [`--kubeconfig=${cluster.kubeconfigPath}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** A fresh namespace labelled for this test's policies; deleted by the returned cleanup. */
export async function createNamespace(prefix: string, extraLabels: Record<string, string> = {}): Promise<{ name: string; remove(): Promise<void> }> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'sandbox-storage-e2e': name, ...extraLabels } } } });
  await waitFor(
    async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return true;
    },
    { description: `ServiceAccount default in ${name}`, timeoutMs: 60_000, intervalMs: 200 },
  );
  return { name, remove: async () => void (await core.deleteNamespace({ name }).catch(() => undefined)) };
}

/** A cluster SandboxStoragePolicy governing only `namespace`; deleted by the returned cleanup. */
export async function createPolicy(name: string, namespace: string, spec: Record<string, unknown>): Promise<() => Promise<void>> {
  const group = { group: 'sandbox-storage.io', version: 'v1alpha1', plural: 'sandboxstoragepolicies' };
  await objects.createClusterCustomObject({
    ...group,
    body: {
      apiVersion: 'sandbox-storage.io/v1alpha1',
      kind: 'SandboxStoragePolicy',
      metadata: { name },
      spec: { ...spec, namespaceSelector: { matchLabels: { 'sandbox-storage-e2e': namespace } } },
    },
  });
  return async () => void (await objects.deleteClusterCustomObject({ ...group, name }).catch(() => undefined));
}

/** Waits until the webhook applies a policy to `namespace`: a dry-run create of `pod` comes back with storage injected. */
export async function waitUntilPolicyApplies(namespace: string, pod: k8s.V1Pod): Promise<void> {
  await waitFor(
    async () => {
      const created = await core.createNamespacedPod({ namespace, body: structuredClone(pod), dryRun: 'All' });
      return (created.spec?.volumes ?? []).some((volume) => volume.name.startsWith('sandbox-storage-'));
    },
    { description: `the webhook to apply the test policy in ${namespace}`, timeoutMs: 60_000, intervalMs: 500 },
  );
}

export interface SandboxPodOptions {
  user: string;
  thread: string;
  image?: string;
  /** Pod Security `restricted`-compliant security contexts (the same Pod is valid in any namespace). */
  uid?: number;
  extraLabels?: Record<string, string>;
}

/** A sandbox Pod as an agent platform's spawner submits it: identity labels, a long-running main container. */
export function sandboxPod(options: SandboxPodOptions): k8s.V1Pod {
  const uid = options.uid ?? 1000;
  return {
    metadata: {
      generateName: `sandbox-${options.user}-`,
      labels: { [labels.inject]: 'true', [labels.user]: options.user, [labels.thread]: options.thread, ...options.extraLabels },
    },
    spec: {
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'sandbox',
          image: options.image ?? cluster.images.sandbox1,
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '3600'],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

/** Creates the Pod and waits until it runs; a Pod that cannot start fails with its status and Events. */
export async function runPod(namespace: string, pod: k8s.V1Pod, timeoutMs = 120_000): Promise<k8s.V1Pod> {
  const created = await core.createNamespacedPod({ namespace, body: pod });
  const name = created.metadata?.name ?? '';
  await waitFor(
    async () => {
      const live = await core.readNamespacedPod({ namespace, name });
      if (live.status?.phase === 'Running' && live.status.containerStatuses?.every((status) => status.ready)) return true;
      if (live.status?.phase === 'Failed' || live.status?.phase === 'Succeeded') throw new Error(`pod ended ${live.status.phase}`);
      throw new Error(`phase ${live.status?.phase}: ${JSON.stringify([...(live.status?.initContainerStatuses ?? []), ...(live.status?.containerStatuses ?? [])].map((status) => ({ name: status.name, state: status.state })))}`);
    },
    { description: `pod ${namespace}/${name} Running`, timeoutMs, intervalMs: 250 },
  ).catch(async (error: unknown) => {
    const events = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    const logs = await kubectl(['logs', '-n', namespace, name, '--all-containers', '--tail=20']);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nEvents: ${events.items.map((event) => `${event.reason}: ${event.message}`).join('\n')}\nlogs: ${logs.stdout}${logs.stderr}`);
  });
  return created;
}

export async function deletePod(namespace: string, name: string): Promise<void> {
  await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
  await waitFor(
    async () => {
      try {
        await core.readNamespacedPod({ namespace, name });
        return false;
      } catch (error) {
        if (error instanceof k8s.ApiException && error.code === 404) return true;
        throw error;
      }
    },
    { description: `pod ${namespace}/${name} to be gone`, timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** `kubectl exec` (through the API server, the kubelet and containerd's stream server), optionally as another user. */
export function exec(namespace: string, pod: string, script: string, as?: { user: string; groups?: string[] }): Promise<CommandResult> {
  const impersonation = as ? [`--as=${as.user}`, ...(as.groups ?? ['system:authenticated']).map((group) => `--as-group=${group}`)] : [];
  return kubectl([...impersonation, 'exec', '-n', namespace, pod, '-c', 'sandbox', '--', 'sh', '-c', script]);
}

/** Like exec, but a non-zero exit fails with the command's output. */
export async function execOk(namespace: string, pod: string, script: string): Promise<string> {
  const result = await exec(namespace, pod, script);
  if (result.code !== 0) throw new Error(`exec ${script} in ${namespace}/${pod} exited ${result.code}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}
