// `sandbox-storage run` as deployed: one process serving the webhook (with its PVC cache) and the leader-elected
// controller, authenticated as the shipped ServiceAccount with exactly the shipped RBAC.
import { seedScriptConfigMapName } from '../../src/admission/seed-script-delivery.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { sandboxPodFor, schedulingGatesOf } from '../fixtures/pods.ts';
import { startControllerProcess, type ControllerProcess } from '../harness/controller-process.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { serviceAccountKubeconfig } from '../harness/service-account.ts';
import { writeServingCertificate, type ServingCertificate } from '../harness/tls.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive } from '../harness/webhook.ts';
import { registerValidatingWebhook, shippedValidatingWebhook, waitUntilValidatingWebhookActive } from '../harness/isolation.ts';
import { waitFor } from '../harness/wait.ts';
import { storageSchedulingGate } from '../../src/labels.ts';

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

/** The default policy, and a more specific shared one that prepares directories (for Pods labelled prepared=yes; the
 * tests' admin provisions its share, as a platform's component would). */
const policiesYaml = `apiVersion: sandbox-storage.io/v1alpha1
kind: SandboxStoragePolicy
metadata: {name: default}
spec: {}
---
apiVersion: sandbox-storage.io/v1alpha1
kind: SandboxStoragePolicy
metadata: {name: prepared}
spec:
  podSelector: {matchLabels: {sandbox-storage.io/inject: "true", example.com/prepared: "yes"}}
  mode: shared
  shared:
    claimName: team-share
    preparation: {enabled: true, claimName: admin-share}
  isolation: {exemptions: {users: [admin]}}
`;

beforeAll(async () => {
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  systemNamespace = await createTestNamespace(controlPlane, 'sandbox-storage-system');
  namespace = await createTestNamespace(controlPlane, 'run-command');
  const kubeconfig = await serviceAccountKubeconfig(controlPlane, systemNamespace);
  tls = await writeServingCertificate();
  cleanups.unshift(() => tls.remove());
  const policyDirectory = await mkdtemp(join(tmpdir(), 'run-policies-'));
  cleanups.unshift(() => rm(policyDirectory, { recursive: true, force: true }));
  await writeFile(join(policyDirectory, 'policies.yaml'), policiesYaml);
  process_ = startControllerProcess([
    'run',
    `--tls-cert-file=${tls.certFile}`,
    `--tls-key-file=${tls.keyFile}`,
    '--host=127.0.0.1',
    '--port=0',
    `--kubeconfig=${kubeconfig}`,
    `--lease-namespace=${systemNamespace}`,
    `--ownership-key-namespace=${systemNamespace}`,
    `--preparation-namespace=${systemNamespace}`,
    '--preparation-image=registry.example/sandbox-storage:test',
    `--policy=${join(policyDirectory, 'policies.yaml')}`,
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
  // Both shipped webhooks: the controller's own writes (PVCs, the gate's removal) pass the validating one.
  cleanups.unshift(
    await registerValidatingWebhook(controlPlane.kubeConfig, shippedValidatingWebhook('sandbox-storage-webhook', `https://127.0.0.1:${port}`, tls.caPem)),
  );
  await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, pod('probe'), (created) => (created.spec?.volumes ?? []).length > 0);
  // A policy annotation on a Pod no policy selects: refused by the validating webhook alone.
  const preset = { metadata: { generateName: 'probe-', annotations: { 'sandbox-storage.io/policy': 'default' } }, spec: pod('probe').spec! };
  await waitUntilValidatingWebhookActive(controlPlane.kubeConfig, namespace, preset);
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('sandbox-storage run with the shipped RBAC', () => {
  it('gates, provisions and releases (the seed-script ConfigMap created); the next pod of that identity is released at once; Events and metrics are there', async () => {
    const created = await core.createNamespacedPod({ namespace, body: pod('rita') });
    expect(gates(created)).toEqual([gate]);
    await waitFor(async () => gates(await core.readNamespacedPod({ namespace, name: created.metadata?.name ?? '' })).length === 0, {
      description: 'the gate to be removed',
    });
    const claimName = workspaceClaimName('sandbox-', { scope: 'thread', user: 'rita', thread: 't1' });
    const provisioned = await core.readNamespacedPersistentVolumeClaim({ namespace, name: claimName });
    // Proven in the create body itself, under the key the process made (with the shipped RBAC) on first need.
    expect(provisioned.metadata?.annotations?.['sandbox-storage.io/ownership-proof']).toMatch(/^v1:[A-Za-z0-9_-]{43}$/);
    const keySecret = await core.readNamespacedSecret({ namespace: systemNamespace, name: 'sandbox-storage-ownership-key' });
    expect(Buffer.from(keySecret.data?.key ?? '', 'base64')).toHaveLength(32);
    expect(keySecret.immutable).toBe(true);
    // The webhook knows the controller by this process's own username (asked from the API server).
    const identity = process_.logs.find((line) => line.msg === "controller username: this process's own");
    expect(identity?.controllerUsername).toBe(`system:serviceaccount:${systemNamespace}:sandbox-storage-webhook`);
    const event = await waitFor(
      async () =>
        (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${created.metadata?.name}` })).items.find(
          (item) => item.reason === 'WorkspaceProvisioned',
        ),
      { description: 'a WorkspaceProvisioned Event' },
    );
    expect(event.reportingInstance).toBe('run-replica');
    // The next pod of that identity waits only for the seed-script ConfigMap (configMap delivery always gates),
    // which the controller created with the shipped RBAC for the first one: released at once.
    const next = await core.createNamespacedPod({ namespace, body: pod('rita') });
    expect(gates(next)).toEqual([gate]);
    const second = await waitFor(
      async () => {
        const live = await core.readNamespacedPod({ namespace, name: next.metadata?.name ?? '' });
        return gates(live).length === 0 ? live : undefined;
      },
      { description: 'a pod of an existing workspace to be released' },
    );
    expect(second.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === claimName)).toBe(true);
    expect((await core.readNamespacedConfigMap({ namespace, name: seedScriptConfigMapName() })).immutable).toBe(true);

    // Directory preparation with the shipped Role: a preparation Pod created in the controller's namespace, read,
    // and deleted once (as a kubelet would report) it succeeded.
    for (const [ns, name] of [[namespace, 'team-share'], [systemNamespace, 'admin-share']] as const) {
      await core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: { metadata: { name }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } },
      });
    }
    const preparedPod = pod('pia');
    preparedPod.metadata = { ...preparedPod.metadata, labels: { ...preparedPod.metadata?.labels, 'example.com/prepared': 'yes' } };
    preparedPod.spec = { ...preparedPod.spec, containers: preparedPod.spec?.containers ?? [], securityContext: { runAsUser: 1000, runAsGroup: 1000 } };
    const sandbox = await core.createNamespacedPod({ namespace, body: preparedPod });
    expect(gates(sandbox)).toEqual([gate]);
    const preparation = await waitFor(
      async () => (await core.listNamespacedPod({ namespace: systemNamespace, labelSelector: 'sandbox-storage.io/purpose=prepare-directories' })).items[0],
      { description: 'a preparation pod in the controller namespace' },
    );
    expect(preparation.spec?.containers[0]?.volumeMounts?.[0]?.subPath).toBe('users/pia');
    const now = new Date();
    await core.replaceNamespacedPodStatus({
      namespace: systemNamespace,
      name: preparation.metadata?.name ?? '',
      body: {
        ...preparation,
        status: {
          phase: 'Succeeded',
          containerStatuses: [
            { name: 'prepare', image: 'registry.example/sandbox-storage:test', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, startedAt: now, finishedAt: now } } },
          ],
        },
      },
    });
    await waitFor(async () => gates(await core.readNamespacedPod({ namespace, name: sandbox.metadata?.name ?? '' })).length === 0, {
      description: 'the gate of the prepared pod to be removed',
    });
    await waitFor(
      async () => (await core.listNamespacedPod({ namespace: systemNamespace, labelSelector: 'sandbox-storage.io/purpose=prepare-directories' })).items.length === 0,
      { description: 'the finished preparation pod to be deleted' },
    );

    const metrics = await (await fetch(`http://127.0.0.1:${await process_.metricsPort()}/metrics`)).text();
    expect(metrics).toMatch(/^sandbox_storage_directory_preparations_total\{result="succeeded"\} 1$/m);
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
