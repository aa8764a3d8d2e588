// `helm uninstall` keeps what users own: a sandbox writes a file into its workspace while the chart is installed;
// after the uninstall its PVC is still there and a plain Pod (no webhook left to mutate or refuse it) reads the file
// back from it. Run by the global teardown of the chart-mode e2e run; a failure fails the run with what was lost.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { defaultLabels } from '../../../src/labels.ts';
import type { RealNode } from '../../harness/real-node.ts';
import { waitFor } from '../../harness/wait.ts';

const policyGroup = { group: 'sandbox-storage.io', version: 'v1alpha1', plural: 'sandboxstoragepolicies' };

export interface UninstallCheck {
  /** After the uninstall: throws unless the PVC and the file are still there. */
  verify(): Promise<void>;
}

async function podPhase(core: k8s.CoreV1Api, namespace: string, name: string, phases: string[]): Promise<void> {
  await waitFor(
    async () => {
      const pod = await core.readNamespacedPod({ namespace, name });
      if (phases.includes(pod.status?.phase ?? '')) return true;
      throw new Error(`phase ${pod.status?.phase}: ${JSON.stringify(pod.status?.containerStatuses?.map((status) => status.state))}`);
    },
    { description: `pod ${namespace}/${name} ${phases.join(' or ')}`, timeoutMs: 120_000, intervalMs: 250 },
  );
}

/** While the chart is installed: a sandbox Pod writes a file into its workspace, then is deleted. */
export async function writeUserData(node: RealNode, image: string, trustedGroups: string[]): Promise<UninstallCheck> {
  const core = node.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const objects = node.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const namespace = `e2e-uninstall-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'sandbox-storage-e2e': namespace } } } });
  await waitFor(async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace })) !== undefined, { description: `ServiceAccount default in ${namespace}`, timeoutMs: 60_000 });
  await objects.createClusterCustomObject({
    ...policyGroup,
    body: {
      apiVersion: 'sandbox-storage.io/v1alpha1',
      kind: 'SandboxStoragePolicy',
      metadata: { name: `${namespace}-workspace` },
      spec: {
        mode: 'workspace',
        namespaceSelector: { matchLabels: { 'sandbox-storage-e2e': namespace } },
        workspace: { scope: 'thread', mountPath: '/sandbox', claimNamePrefix: 'sandbox-', size: '1Gi' },
        seed: { enabled: true, path: '/sandbox' },
        isolation: { requesters: { enforce: true, trustedGroups } },
      },
    },
  });
  const content = `written before helm uninstall ${randomBytes(4).toString('hex')}`;
  const sandbox: k8s.V1Pod = {
    metadata: { name: 'writer', labels: { [defaultLabels.inject]: 'true', [defaultLabels.user]: 'carol', [defaultLabels.thread]: 'kept' } },
    spec: {
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
      containers: [{ name: 'sandbox', image, command: ['sh', '-c', `echo "${content}" > /sandbox/kept.txt`] }],
    },
  };
  // The policy reaches the webhook through its watch: retry until the Pod comes back with its workspace.
  await waitFor(
    async () => {
      const created = await core.createNamespacedPod({ namespace, body: structuredClone(sandbox) });
      if ((created.spec?.volumes ?? []).some((volume) => volume.persistentVolumeClaim)) return true;
      await core.deleteNamespacedPod({ namespace, name: 'writer', gracePeriodSeconds: 0 });
      await waitFor(() => core.readNamespacedPod({ namespace, name: 'writer' }).then(() => false, () => true), { description: 'the unmutated writer Pod gone', timeoutMs: 60_000 });
      return false;
    },
    { description: `the webhook to give the writer Pod in ${namespace} its workspace`, timeoutMs: 60_000, intervalMs: 500 },
  );
  await podPhase(core, namespace, 'writer', ['Succeeded']);
  const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.map((claim) => claim.metadata?.name ?? '');
  if (claims.length !== 1) throw new Error(`expected the writer's one workspace PVC in ${namespace}, found ${JSON.stringify(claims)}`);
  const claimName = claims[0] as string;
  await core.deleteNamespacedPod({ namespace, name: 'writer' });

  return {
    async verify() {
      const left = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.map((claim) => claim.metadata?.name);
      if (!left.includes(claimName)) throw new Error(`helm uninstall lost the workspace PVC ${namespace}/${claimName} (left: ${JSON.stringify(left)})`);
      const policies = await objects.listClusterCustomObject(policyGroup);
      if (!(policies as { items: unknown[] }).items.length) throw new Error('helm uninstall removed the SandboxStoragePolicy objects');
      await waitFor(() => core.readNamespacedPod({ namespace, name: 'writer' }).then(() => false, () => true), { description: 'the writer Pod gone', timeoutMs: 60_000 });
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: 'reader' },
          spec: {
            restartPolicy: 'Never',
            // The workspace's home directory: what the sandbox saw as /sandbox.
            containers: [{ name: 'reader', image, command: ['cat', '/workspace/.sandbox-storage-home/kept.txt'], volumeMounts: [{ name: 'workspace', mountPath: '/workspace', readOnly: true }] }],
            volumes: [{ name: 'workspace', persistentVolumeClaim: { claimName, readOnly: true } }],
          },
        },
      });
      await podPhase(core, namespace, 'reader', ['Succeeded', 'Failed']);
      const read = await node.controlPlane.kubectl(['logs', '-n', namespace, 'reader']);
      if (read.stdout.trim() !== content) throw new Error(`after helm uninstall the workspace ${namespace}/${claimName} holds ${JSON.stringify(read.stdout + read.stderr)}, not the user's ${JSON.stringify(content)}`);
    },
  };
}
