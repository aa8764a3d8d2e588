// The real-node part of `npm run demo` (Linux + root): a sandbox Pod really runs on a local node with the product
// deployed as `sandbox-storage run`; the demo writes a file in its /sandbox, deletes the Pod, creates it again and
// shows the file survived.
import * as k8s from '@kubernetes/client-node';
import { startRealNode, type RealNode } from '../test/harness/real-node.ts';
import { waitFor } from '../test/harness/wait.ts';
import { startLocalStack, type LocalStack } from '../test/e2e/setup/local-stack.ts';

const say = (text: string) => process.stdout.write(`${text}\n`);
const heading = (text: string) => say(`\n\x1b[1m== ${text}\x1b[0m`);
const namespace = 'agents';

function sandboxPod(node: RealNode): k8s.V1Pod {
  return {
    metadata: {
      generateName: 'sandbox-',
      labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': 't1' },
    },
    spec: {
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
      containers: [{ name: 'sandbox', image: node.images.sandbox1, command: ['sleep', '3600'] }],
    },
  };
}

async function runSandbox(node: RealNode, core: k8s.CoreV1Api): Promise<string> {
  const started = Date.now();
  const created = await core.createNamespacedPod({ namespace, body: sandboxPod(node) });
  const name = created.metadata?.name ?? '';
  say(`created pod ${name}: scheduling gates ${JSON.stringify((created.spec?.schedulingGates ?? []).map((gate) => gate.name))}, init containers ${JSON.stringify((created.spec?.initContainers ?? []).map((container) => container.name))}`);
  await waitFor(async () => (await core.readNamespacedPod({ namespace, name })).status?.phase === 'Running', {
    description: `pod ${name} Running`,
    timeoutMs: 120_000,
    intervalMs: 250,
  });
  const gated = (created.spec?.schedulingGates ?? []).length > 0;
  const how = gated ? 'its PVC created, then the gate lifted' : 'its PVC already existed, so no gate';
  say(`pod ${name} Running after ${((Date.now() - started) / 1000).toFixed(1)} s (${how}; the seed init container ran first)`);
  return name;
}

async function execIn(node: RealNode, pod: string, script: string): Promise<string> {
  const result = await node.controlPlane.kubectl(['exec', '-n', namespace, pod, '-c', 'sandbox', '--', 'sh', '-c', script]);
  if (result.code !== 0) throw new Error(`exec failed: ${result.stderr}`);
  return result.stdout;
}

export async function runRealNodeDemo(): Promise<void> {
  heading('Starting a real single-node Kubernetes on loopback (control plane, kube-scheduler, containerd + kubelet)');
  say('(the first run builds the binaries from Go modules: several minutes, progress below; later runs take seconds)');
  let node: RealNode | undefined;
  let stack: LocalStack | undefined;
  try {
    node = await startRealNode();
    say(`node 127.0.0.1 Ready ${(node.timings.nodeReadyMs / 1000).toFixed(1)} s after start`);
    heading('Deploying `sandbox-storage run` (webhooks + PVC controller) and a workspace policy');
    stack = await startLocalStack(node, node.images.busybox);
    const core = node.kubeConfig.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const objects = node.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    await objects.createClusterCustomObject({
      group: 'sandbox-storage.io',
      version: 'v1alpha1',
      plural: 'sandboxstoragepolicies',
      body: {
        apiVersion: 'sandbox-storage.io/v1alpha1',
        kind: 'SandboxStoragePolicy',
        metadata: { name: 'workspace' },
        spec: { mode: 'workspace', workspace: { scope: 'thread', mountPath: '/sandbox', claimNamePrefix: 'sandbox-', size: '1Gi' }, seed: { enabled: true, path: '/sandbox' } },
      },
    });
    await waitFor(async () => (await core.readNamespacedServiceAccount({ namespace, name: 'default' })) !== undefined, { description: 'ServiceAccount default', timeoutMs: 60_000 });
    await waitFor(
      async () => ((await core.createNamespacedPod({ namespace, body: sandboxPod(node as RealNode), dryRun: 'All' })).spec?.initContainers ?? []).length > 0,
      { description: 'the webhook to apply the policy', timeoutMs: 60_000, intervalMs: 500 },
    );

    heading('A sandbox Pod for alice, thread t1');
    const first = await runSandbox(node, core);
    say((await execIn(node, first, 'id; ls -la /sandbox')).trimEnd());
    say('writing /sandbox/notes.md inside the sandbox ...');
    await execIn(node, first, 'echo "written by the first pod at $(date -u +%T)" > /sandbox/notes.md');

    heading('Deleting the Pod and creating it again');
    await core.deleteNamespacedPod({ namespace, name: first, gracePeriodSeconds: 0 });
    await waitFor(
      async () => {
        try {
          await core.readNamespacedPod({ namespace, name: first });
          return false;
        } catch {
          return true;
        }
      },
      { description: `pod ${first} gone`, timeoutMs: 60_000, intervalMs: 200 },
    );
    say(`pod ${first} deleted`);
    const second = await runSandbox(node, core);
    say(`cat /sandbox/notes.md in ${second}:`);
    say(`  ${(await execIn(node, second, 'cat /sandbox/notes.md')).trimEnd()}`);
    say('the file survived: the workspace is a PVC of its own for (alice, t1), not the Pod\'s filesystem');
  } finally {
    heading('Cleaning up');
    await stack?.stop();
    await node?.stop();
    const left = node?.leftovers();
    if (left && Object.values(left).some((entries) => entries.length > 0)) say(`left behind: ${JSON.stringify(left)}`);
    else say('done: no process, mount, cgroup or directory of the node left');
  }
}
