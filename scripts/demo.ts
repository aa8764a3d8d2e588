// `npm run demo`: the product working end to end on a local control plane. Starts etcd, kube-apiserver and
// kube-controller-manager, runs `sandbox-storage run` (webhooks + PVC controller) as its own process, registers the
// shipped webhook configurations, creates sandbox Pods in workspace and shared mode, prints what was injected and
// what the controller did, shows an isolation escape being refused, cleans up.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as k8s from '@kubernetes/client-node';
import { planPod } from '../src/admission/plan-pod.ts';
import { parsePolicies } from '../src/policy/load.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../test/harness/controlplane.ts';
import { writeServingCertificate, type ServingCertificate } from '../test/harness/tls.ts';
import { registerValidatingWebhook, shippedValidatingWebhook } from '../test/harness/isolation.ts';
import { waitFor } from '../test/harness/wait.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive } from '../test/harness/webhook.ts';
import { realNodeUnavailableReason } from '../test/harness/real-node.ts';
import { runRealNodeDemo } from './real-node-demo.ts';

const root = new URL('..', import.meta.url).pathname;
const say = (text: string) => process.stdout.write(`${text}\n`);
const heading = (text: string) => say(`\n\x1b[1m== ${text}\x1b[0m`);

const demoPolicies = `apiVersion: sandbox-storage.io/v1alpha1
kind: SandboxStoragePolicy
metadata:
  name: workspace
spec:
  namespaceSelector:
    matchLabels: {storage-mode: workspace}
---
apiVersion: sandbox-storage.io/v1alpha1
kind: SandboxStoragePolicy
metadata:
  name: shared-home
spec:
  namespaceSelector:
    matchLabels: {storage-mode: shared}
  mode: shared
  shared:
    claimName: sandbox-shared
    mounts:
      - subPath: users/{user}/threads/{thread}/user-data
        mountPath: /sandbox
      - subPath: users/{user}/skills
        mountPath: /skills
        readOnly: true
`;

function sandboxPod(user: string, thread: string): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'sandbox-',
      labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': user, 'sandbox-storage.io/thread': thread },
    },
    spec: {
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
      containers: [{ name: 'sandbox', image: 'ghcr.io/example/agent-sandbox:1.4.0', command: ['sleep', 'infinity'] }],
    },
  };
}

function describePod(pod: k8s.V1Pod): void {
  const spec = pod.spec!;
  say(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}  (policy: ${pod.metadata?.annotations?.['sandbox-storage.io/policy']})`);
  for (const volume of spec.volumes ?? []) {
    if (volume.name.startsWith('sandbox-storage-')) say(`  volume      ${volume.name} -> PVC ${volume.persistentVolumeClaim?.claimName}`);
  }
  for (const mount of spec.containers[0]?.volumeMounts ?? []) {
    if (!mount.name.startsWith('sandbox-storage-')) continue;
    const subPath = mount.subPath ? `  subPath ${mount.subPath}` : '';
    say(`  mount       ${mount.mountPath}${subPath}${mount.readOnly ? '  (read-only)' : ''}`);
  }
  for (const init of spec.initContainers ?? []) {
    const env = Object.fromEntries((init.env ?? []).map((variable) => [variable.name, variable.value]));
    say(`  init        ${init.name}: image ${init.image}, copies ${env.SEED_SOURCE} into the volume once (sentinel ${env.SEED_SENTINEL}), owner ${env.SEED_UID ?? '-'}:${env.SEED_GID ?? '-'}`);
  }
}

async function startServe(tls: ServingCertificate, policyFile: string, kubeconfig: string) {
  const child = spawn(
    process.execPath,
    [
      join(root, 'src/cli.ts'), 'run', '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--host', '127.0.0.1',
      '--port', '0', '--metrics-port', 'none', '--policy', policyFile, '--kubeconfig', kubeconfig, '--leader-elect', 'false',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const logs: Array<Record<string, unknown>> = [];
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'webhook server listening') resolve(entry.port as number);
      if (Number(entry.level) >= 50) process.stderr.write(`${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`sandbox-storage serve exited with ${code}`)));
  });
  return { child, port, logs };
}

async function main(): Promise<void> {
  heading('Starting a local control plane (etcd + kube-apiserver + kube-controller-manager)');
  say('(the first run builds the binaries from Go modules: several minutes; later runs take seconds)');
  let controlPlane: ControlPlane | undefined;
  let tls: ServingCertificate | undefined;
  let serve: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    controlPlane = await startControlPlane({ controllerManager: true });
    say(`API server ${controlPlane.serverUrl} ready in ${(controlPlane.startup.totalMs / 1000).toFixed(1)} s`);

    heading('Starting `sandbox-storage run` (webhooks + PVC controller) with two policies');
    tls = await writeServingCertificate();
    const policyFile = join(tls.directory, 'policies.yaml');
    await writeFile(policyFile, demoPolicies);
    serve = await startServe(tls, policyFile, controlPlane.kubeconfigPath);
    say(`webhooks listening on https://127.0.0.1:${serve.port}`);
    const url = `https://127.0.0.1:${serve.port}`;
    await registerMutatingWebhook(controlPlane.kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', url, tls.caPem));
    await registerValidatingWebhook(controlPlane.kubeConfig, shippedValidatingWebhook('sandbox-storage-webhook', url, tls.caPem));
    say('registered deploy/manifests/{mutating,validating}-webhook.yaml (clientConfig pointed at the local server)');

    const core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const policies = parsePolicies(demoPolicies, 'demo');
    for (const mode of ['workspace', 'shared']) {
      heading(`${mode} mode`);
      const namespace = await createTestNamespace(controlPlane, `agents-${mode}`, { 'storage-mode': mode });
      if (mode === 'shared') {
        // The admin's pre-existing ReadWriteMany PVC (no provisioner runs here, so it stays Pending: that is fine).
        await core.createNamespacedPersistentVolumeClaim({
          namespace,
          body: { metadata: { name: 'sandbox-shared' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '50Gi' } } } },
        });
      }
      await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, sandboxPod('probe', 'p'), (pod) =>
        (pod.spec?.volumes ?? []).some((volume) => volume.name.startsWith('sandbox-storage-')),
      );
      const started = Date.now();
      const created = await core.createNamespacedPod({ namespace, body: sandboxPod('Alice_Smith', 'thread-42') });
      describePod(created);
      const gates = (created.spec?.schedulingGates ?? []).map((gate) => gate.name);
      say(`  gates       ${gates.length > 0 ? `${gates.join(', ')} (kubectl get pod shows SchedulingGated until the storage exists)` : 'none: the storage already exists'}`);
      const plan = planPod(created, policies, { operation: 'CREATE', namespace, namespaceLabels: { 'storage-mode': mode }, dryRun: false, userInfo: {} });
      for (const claim of plan.claims) {
        const pvc = await waitFor(
          async () => core.readNamespacedPersistentVolumeClaim({ name: claim.name, namespace }).catch(() => undefined),
          { description: `PVC ${claim.name}`, timeoutMs: 60_000 },
        );
        const owner = pvc.metadata?.labels?.['app.kubernetes.io/managed-by'] ?? 'the admin';
        say(`  PVC         ${claim.name}: ${pvc.spec?.resources?.requests?.storage}, ${pvc.spec?.accessModes?.join(',')} (created by ${owner})`);
      }
      const name = created.metadata?.name as string;
      await waitFor(
        async () => ((await core.readNamespacedPod({ name, namespace })).spec?.schedulingGates ?? []).length === 0,
        { description: 'the controller to lift the scheduling gate', timeoutMs: 60_000 },
      );
      say(`  controller  storage ready, scheduling gate removed ${Date.now() - started} ms after the Pod was created`);
    }

    heading('Isolation: escapes are refused');
    const namespace = await createTestNamespace(controlPlane, 'agents-escape', { 'storage-mode': 'shared' });
    const refused = async (what: string, body: k8s.V1Pod) => {
      try {
        await core.createNamespacedPod({ namespace, body });
        say(`unexpected: ${what} was admitted`);
        process.exitCode = 1;
      } catch (error) {
        const status = (error as k8s.ApiException<string>).body;
        say(`${what}:\n  refused: ${(typeof status === 'string' ? JSON.parse(status) : status).message}`);
      }
    };
    const anonymous = sandboxPod('x', 'y');
    delete anonymous.metadata!.labels!['sandbox-storage.io/user'];
    await refused('a sandbox Pod without a user id', anonymous);
    await refused('an unlabelled Pod mounting the shared PVC root', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sneaky' },
      spec: {
        containers: [{ name: 'shell', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'sandbox-shared' } }],
      },
    });

    heading('Webhook log (JSON, one line per admission)');
    for (const entry of serve.logs.filter((line) => line.uid !== undefined && String(line.name ?? '').startsWith('sandbox-'))) {
      say(`  /${entry.webhook} ${entry.operation}: ${entry.namespace}/${entry.name} policy=${entry.policy ?? '-'} result=${entry.result} ${entry.durationMs} ms`);
    }
  } finally {
    heading('Cleaning up');
    serve?.child.kill('SIGTERM');
    await controlPlane?.stop();
    await tls?.remove();
    say('done');
  }
}

// Real Pods where a local node can run (Linux + root); the API-server-only demo everywhere else.
const realNodeUnavailable = realNodeUnavailableReason();
if (realNodeUnavailable) say(`no real node here (${realNodeUnavailable}): showing admission and the controller on an API server only`);
(realNodeUnavailable ? main() : runRealNodeDemo()).catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
