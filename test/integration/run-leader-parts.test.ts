// Two `sandbox-storage run` replicas with self-managed certificates and leader election, as real processes against
// a real API server: the certificate renewal is a leader-only part (only the Lease holder creates the Secret and
// patches the CA bundle; both replicas copy the Secret into their files), and it moves with the Lease: after the
// leader is stopped, the other replica, now leading, recreates a deleted Secret and serves it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControllerProcess, type ControllerProcess } from '../harness/controller-process.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';

let controlPlane: ControlPlane;
let core: k8s.CoreV1Api;
let admission: k8s.AdmissionregistrationV1Api;
let workDir: string;
let namespace: string;
const replicas = new Map<string, ControllerProcess>();

const updated = 'webhook certificates updated';
const patched = 'CA bundle patched into webhook configuration';
const certFile = (identity: string) => join(workDir, identity, 'tls.crt');

function startReplica(identity: string): ControllerProcess {
  const replica = startControllerProcess([
    'run',
    '--self-managed-certs',
    '--cert-secret=webhook-tls',
    `--webhook-configuration=${namespace}`,
    `--namespace=${namespace}`,
    '--service-name=webhook',
    '--cert-check-interval=1s',
    '--ca-propagation-delay=2s',
    `--tls-cert-file=${certFile(identity)}`,
    `--tls-key-file=${join(workDir, identity, 'tls.key')}`,
    '--host=127.0.0.1',
    '--port=0',
    '--metrics-host=127.0.0.1',
    '--metrics-port=0',
    `--kubeconfig=${controlPlane.kubeconfigPath}`,
    `--lease-namespace=${namespace}`,
    `--ownership-key-namespace=${namespace}`,
    `--preparation-namespace=${namespace}`,
    `--identity=${identity}`,
    '--lease-duration=6s',
    '--renew-deadline=4s',
    '--retry-period=1s',
  ]);
  replicas.set(identity, replica);
  return replica;
}

const messages = (replica: ControllerProcess) => replica.logs.map((line) => line.msg);
const started = (replica: ControllerProcess) => messages(replica).includes('webhooks and controller started');

async function storedCertificate(): Promise<string | undefined> {
  try {
    const secret = await core.readNamespacedSecret({ namespace, name: 'webhook-tls' });
    return Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
  } catch {
    return undefined;
  }
}

async function leaseHolder(): Promise<string | undefined> {
  const leases = controlPlane.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const lease = await leases.readNamespacedLease({ namespace, name: 'sandbox-storage-controller' }).catch(() => undefined);
  return lease?.spec?.holderIdentity || undefined;
}

beforeAll(async () => {
  controlPlane = await startControlPlane();
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  admission = controlPlane.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);
  workDir = await mkdtemp(join(tmpdir(), 'sandbox-storage-run-leader-'));
  namespace = await createTestNamespace(controlPlane, 'run-leader');
  await admission.createMutatingWebhookConfiguration({
    body: {
      metadata: { name: namespace },
      webhooks: [
        {
          name: 'mutate.sandbox-storage.io',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          clientConfig: { url: 'https://127.0.0.1:9/mutate' },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          objectSelector: { matchLabels: { 'never-matches': 'true' } },
        },
      ],
    },
  });
});

afterAll(async () => {
  await Promise.all([...replicas.values()].map((replica) => replica.stop()));
  await admission?.deleteMutatingWebhookConfiguration({ name: namespace }).catch(() => undefined);
  await controlPlane?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('sandbox-storage run: certificate renewal follows the Lease', () => {
  it('only the leader writes the Secret and the CA bundle; both serve it; the next leader takes the renewal over', async () => {
    const a = startReplica('replica-a');
    const b = startReplica('replica-b');
    await waitFor(() => started(a) && started(b), { description: 'both replicas to start serving', timeoutMs: 90_000 });
    const leader = await waitFor(leaseHolder, { description: 'a Lease holder', timeoutMs: 30_000 });
    const follower = leader === 'replica-a' ? 'replica-b' : 'replica-a';
    const leading = replicas.get(leader) as ControllerProcess;
    const following = replicas.get(follower) as ControllerProcess;

    const stored = await storedCertificate();
    expect(stored).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(messages(leading)).toContain(updated);
    expect(messages(leading)).toContain(patched);
    expect(messages(following)).not.toContain(updated);
    expect(messages(following)).not.toContain(patched);
    // The reload is always on: both replicas serve what the leader stored.
    expect(await readFile(certFile(leader), 'utf8')).toBe(stored);
    expect(await readFile(certFile(follower), 'utf8')).toBe(stored);
    const configuration = await admission.readMutatingWebhookConfiguration({ name: namespace });
    expect(configuration.webhooks?.[0]?.clientConfig.caBundle).toBeTruthy();

    // SIGTERM releases the Lease; the Secret gone, only a replica that leads may make a new one.
    await leading.stop();
    await waitFor(async () => (await leaseHolder()) === follower, { description: `${follower} to hold the Lease`, timeoutMs: 30_000 });
    await core.deleteNamespacedSecret({ namespace, name: 'webhook-tls' });
    const renewed = await waitFor(async () => {
      const current = await storedCertificate();
      return current !== undefined && current !== stored ? current : undefined;
    }, { description: 'the new leader to create a new certificate Secret', timeoutMs: 30_000 });
    expect(messages(following)).toContain(updated);
    await waitFor(async () => (await readFile(certFile(follower), 'utf8')) === renewed, {
      description: 'the new leader to serve the certificate it stored',
      timeoutMs: 30_000,
    });
  });
});
