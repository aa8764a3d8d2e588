// Pod CREATE → PVC exists → scheduling gate removed, for N sandbox Pods of N distinct users, through a real
// kube-apiserver + kube-controller-manager and `sandbox-storage run` as its own process.
// Usage: node bench/provisioning-latency.ts [pods=200] [concurrency=10] [controller workers=8]
import * as k8s from '@kubernetes/client-node';
import { startControllerProcess } from '../test/harness/controller-process.ts';
import { createTestNamespace, startControlPlane } from '../test/harness/controlplane.ts';
import { writeServingCertificate } from '../test/harness/tls.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive } from '../test/harness/webhook.ts';
import { waitFor } from '../test/harness/wait.ts';

const podCount = Number(process.argv[2] ?? 200);
const concurrency = Number(process.argv[3] ?? 10);
const workers = Number(process.argv[4] ?? 8);
const gate = 'sandbox-storage.io/storage';

function pod(user: string): k8s.V1Pod {
  return {
    metadata: {
      generateName: 'sandbox-',
      labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': user, 'sandbox-storage.io/thread': 't1' },
    },
    spec: { containers: [{ name: 'sandbox', image: 'registry.example/sandbox:1' }] },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const summary = (name: string, values: number[]) =>
  `${name.padEnd(34)} median ${percentile(values, 50).toFixed(0).padStart(5)} ms   p99 ${percentile(values, 99).toFixed(0).padStart(5)} ms   max ${Math.max(...values).toFixed(0).padStart(5)} ms`;

const controlPlane = await startControlPlane({ controllerManager: true });
const tls = await writeServingCertificate();
const run = startControllerProcess([
  'run',
  `--tls-cert-file=${tls.certFile}`,
  `--tls-key-file=${tls.keyFile}`,
  '--host=127.0.0.1',
  '--port=0',
  `--kubeconfig=${controlPlane.kubeconfigPath}`,
  '--lease-namespace=default',
  '--ownership-key-namespace=default',
  '--metrics-host=127.0.0.1',
  '--metrics-port=0',
  `--workers=${workers}`,
]);
try {
  const core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const namespace = await createTestNamespace(controlPlane, 'bench');
  await run.metricsPort();
  const port = run.logs.find((line) => line.msg === 'webhooks and controller started')?.port as number;
  await registerMutatingWebhook(controlPlane.kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', `https://127.0.0.1:${port}`, tls.caPem));
  await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, pod('probe'), (created) => (created.spec?.volumes ?? []).length > 0);

  // Observe PVC creation and gate removal through watches, stamped on arrival.
  const claimSeen = new Map<string, number>();
  const releasedSeen = new Map<string, number>();
  const claims = k8s.makeInformer(controlPlane.kubeConfig, `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, () =>
    core.listNamespacedPersistentVolumeClaim({ namespace }),
  );
  claims.on('add', (claim) => {
    if (!claimSeen.has(claim.metadata?.name ?? '')) claimSeen.set(claim.metadata?.name ?? '', performance.now());
  });
  const pods = k8s.makeInformer(controlPlane.kubeConfig, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace }));
  const onPod = (item: k8s.V1Pod) => {
    const name = item.metadata?.name ?? '';
    if (!(item.spec?.schedulingGates ?? []).some((g) => g.name === gate) && !releasedSeen.has(name)) releasedSeen.set(name, performance.now());
  };
  pods.on('add', onPod);
  pods.on('update', onPod);
  await claims.start();
  await pods.start();

  const sent: Array<{ user: string; sentAt: number; answeredAt: number; pod: string; claim: string }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < podCount) {
        const user = `bench-user-${next++}`;
        const sentAt = performance.now();
        const created = await core.createNamespacedPod({ namespace, body: pod(user) });
        const claim = created.spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName ?? '';
        sent.push({ user, sentAt, answeredAt: performance.now(), pod: created.metadata?.name ?? '', claim });
      }
    }),
  );
  await waitFor(() => sent.every((each) => claimSeen.has(each.claim) && releasedSeen.has(each.pod)), {
    description: 'every PVC created and every pod released',
    timeoutMs: 600_000,
    intervalMs: 100,
  });
  await claims.stop();
  await pods.stop();
  const metrics = await (await fetch(`http://127.0.0.1:${await run.metricsPort()}/metrics`)).text();
  const reconcileLines = metrics.split('\n').filter((line) => /^sandbox_storage_(reconciles_total|reconcile_duration_seconds_(sum|count)|errors_total)/.test(line));
  process.stdout.write(`controller: ${reconcileLines.join('; ')}\n`);

  process.stdout.write(`${podCount} sandbox pods, ${podCount} distinct users, ${concurrency} concurrent clients, ${workers} controller workers\n`);
  process.stdout.write(`${summary('Pod CREATE round trip (baseline)', sent.map((each) => each.answeredAt - each.sentAt))}\n`);
  process.stdout.write(`${summary('Pod CREATE → PVC exists', sent.map((each) => (claimSeen.get(each.claim) ?? Number.NaN) - each.sentAt))}\n`);
  process.stdout.write(`${summary('Pod CREATE → gate removed', sent.map((each) => (releasedSeen.get(each.pod) ?? Number.NaN) - each.sentAt))}\n`);
} finally {
  await run.stop();
  await tls.remove();
  await controlPlane.stop();
}
