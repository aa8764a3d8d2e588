// `sandbox-storage run` as deployed: one process serving the webhook (with its PVC cache) and the leader-elected
// controller, authenticated as the shipped ServiceAccount with exactly the shipped RBAC.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageSchedulingGate } from '../../src/admission/scheduling-gate.ts';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { sandboxPodFor, schedulingGatesOf } from '../fixtures/pods.ts';
import { startControllerProcess, type ControllerProcess } from '../harness/controller-process.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { serviceAccountKubeconfig } from '../harness/service-account.ts';
import { writeServingCertificate, type ServingCertificate } from '../harness/tls.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive } from '../harness/webhook.ts';
import { waitFor } from '../harness/wait.ts';

const gate = storageSchedulingGate;
const pod = sandboxPodFor;
let controlPlane: ControlPlane;
let core: k8s.CoreV1Api;
let namespace: string;
let systemNamespace: string;
let tls: ServingCertificate;
let process_: ControllerProcess;
const cleanups: Array<() => Promise<unknown>> = [];


const gates = schedulingGatesOf;

beforeAll(async () => {
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  systemNamespace = await createTestNamespace(controlPlane, 'sandbox-storage-system');
  namespace = await createTestNamespace(controlPlane, 'run-command');
  const kubeconfig = await serviceAccountKubeconfig(controlPlane, systemNamespace);
  tls = await writeServingCertificate();
  cleanups.unshift(() => tls.remove());
  process_ = startControllerProcess([
    'run',
    `--tls-cert-file=${tls.certFile}`,
    `--tls-key-file=${tls.keyFile}`,
    '--host=127.0.0.1',
    '--port=0',
    `--kubeconfig=${kubeconfig}`,
    `--lease-namespace=${systemNamespace}`,
    '--identity=run-replica',
    '--metrics-host=127.0.0.1',
    '--metrics-port=0',
  ]);
  cleanups.unshift(() => process_.stop());
  await process_.metricsPort();
  const port = process_.logs.find((line) => line.msg === 'webhooks and controller started')?.port as number;
  cleanups.unshift(
    await registerMutatingWebhook(controlPlane.kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', `https://127.0.0.1:${port}`, tls.caPem)),
  );
  await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, pod('probe'), (created) => (created.spec?.volumes ?? []).length > 0);
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('sandbox-storage run with the shipped RBAC', () => {
  it('gates, provisions and releases; the next pod of that identity is not gated; Events and metrics are there', async () => {
    const created = await core.createNamespacedPod({ namespace, body: pod('rita') });
    expect(gates(created)).toEqual([gate]);
    await waitFor(async () => gates(await core.readNamespacedPod({ namespace, name: created.metadata?.name ?? '' })).length === 0, {
      description: 'the gate to be removed',
    });
    const claimName = workspaceClaimName('sandbox-', { scope: 'thread', user: 'rita', thread: 't1' });
    await core.readNamespacedPersistentVolumeClaim({ namespace, name: claimName });
    const event = await waitFor(
      async () =>
        (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${created.metadata?.name}` })).items.find(
          (item) => item.reason === 'WorkspaceProvisioned',
        ),
      { description: 'a WorkspaceProvisioned Event' },
    );
    expect(event.reportingInstance).toBe('run-replica');
    // The webhook's PVC cache sees the new PVC: no gate for the next pod.
    const second = await waitFor(
      async () => {
        const next = await core.createNamespacedPod({ namespace, body: pod('rita') });
        return gates(next).length === 0 ? next : undefined;
      },
      { description: 'a pod of an existing workspace to be admitted without gate' },
    );
    expect(second.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === claimName)).toBe(true);

    const metrics = await (await fetch(`http://127.0.0.1:${await process_.metricsPort()}/metrics`)).text();
    expect(metrics).toMatch(/^sandbox_storage_leader 1$/m);
    expect(metrics).toMatch(/^sandbox_storage_pvcs_created_total\{role="workspace"\} [1-9]/m);
    // Nothing was refused for lack of permissions.
    const refused = ['cannot record event', 'watch failed; restarting', 'lease request failed', 'reconcile failed; retrying'];
    // An API refusal shows as client-node's "HTTP-Code: 403", a 403 code field or a Forbidden status; a bare "403"
    // substring would also match request uids and timestamps.
    const forbidden = /HTTP-Code: 403\b|"(code|statusCode)":403\b|forbidden/i;
    expect(process_.logs.filter((line) => forbidden.test(JSON.stringify(line)) || refused.includes(String(line.msg)))).toEqual([]);
    const lease = await controlPlane.kubeConfig
      .makeApiClient(k8s.CoordinationV1Api)
      .readNamespacedLease({ namespace: systemNamespace, name: 'sandbox-storage-controller' });
    expect(lease.spec?.holderIdentity).toBe('run-replica');
  });

  it('SIGTERM stops webhook and controller and releases the Lease', async () => {
    process_.child.kill('SIGTERM');
    expect(await process_.exited).toBe(0);
    const lease = await controlPlane.kubeConfig
      .makeApiClient(k8s.CoordinationV1Api)
      .readNamespacedLease({ namespace: systemNamespace, name: 'sandbox-storage-controller' });
    expect(lease.spec?.holderIdentity ?? '').toBe('');
  });
});
