// Several replicas managing certificates at once (the module, in-process, against a real API server): replicas that
// all lead (renewal and reload, as serve runs them without leader election) converge on one Secret, and a replica
// that does not lead (reload only) copies what the leader stored, never writing anything itself.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSignedBy, joinPemBundle, splitPemBundle } from '../../src/certs/inspect.ts';
import { createCertificateAuthority } from '../../src/certs/issue.ts';
import { caRotatedAtAnnotation } from '../../src/labels.ts';
import {
  startCertificateReload,
  startCertificateRenewal,
  type CertificateReloadOptions,
  type CertificateRenewalOptions,
} from '../../src/kube/self-managed-certs.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';

const day = 86_400_000;
let controlPlane: ControlPlane;
let core: k8s.CoreV1Api;
let admission: k8s.AdmissionregistrationV1Api;
let workDir: string;
const running: Replica[] = [];

interface Replica {
  caBundle(): string | undefined;
  syncNow(): Promise<void>;
  stop(): void;
}

type ReplicaOptions = CertificateRenewalOptions & CertificateReloadOptions;

/** A replica as the manager runs it: the reload always, the renewal while it leads; resolves once it serves. */
async function startReplica(options: ReplicaOptions, leads = true): Promise<Replica> {
  const reload = startCertificateReload(options);
  const renewal = leads ? startCertificateRenewal({ ...options, onWritten: () => void reload.syncNow() }) : undefined;
  await Promise.all([reload.ready, renewal?.firstRound]);
  return {
    caBundle: () => reload.caBundle(),
    async syncNow() {
      await renewal?.syncNow();
      await reload.syncNow();
    },
    stop() {
      renewal?.stop();
      reload.stop();
    },
  };
}

beforeAll(async () => {
  controlPlane = await startControlPlane();
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  admission = controlPlane.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);
  workDir = await mkdtemp(join(tmpdir(), 'sandbox-storage-replicas-'));
});

afterAll(async () => {
  for (const replica of running) replica.stop();
  await controlPlane?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function replicaOptions(namespace: string, replica: string, overrides: Partial<ReplicaOptions> = {}): ReplicaOptions {
  return {
    kubeConfig: controlPlane.kubeConfig,
    namespace,
    secretName: 'webhook-tls',
    webhookConfigurationNames: [namespace],
    dnsNames: [`webhook.${namespace}.svc`],
    ipAddresses: [],
    certFile: join(workDir, namespace, replica, 'tls.crt'),
    keyFile: join(workDir, namespace, replica, 'tls.key'),
    checkIntervalMs: 200,
    caValidityMs: 365 * day,
    leafValidityMs: 90 * day,
    caPropagationDelayMs: 60_000,
    logger: pino({ level: 'silent' }),
    ...overrides,
  };
}

async function registerConfiguration(name: string): Promise<void> {
  await admission.createMutatingWebhookConfiguration({
    body: {
      metadata: { name },
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
}

describe('self-managed certificates across replicas', () => {
  it('replicas that all act as leader converge on one Secret, served by all of them', async () => {
    const namespace = await createTestNamespace(controlPlane, 'replicas');
    await registerConfiguration(namespace);
    const replicas = await Promise.all(['a', 'b', 'c'].map((replica) => startReplica(replicaOptions(namespace, replica))));
    running.push(...replicas);
    const secret = await core.readNamespacedSecret({ name: 'webhook-tls', namespace });
    const stored = Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
    const bundle = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
    // A replica that lost the create race adopts the winner's Secret on its next round.
    await waitFor(
      async () => {
        const served = await Promise.all(['a', 'b', 'c'].map((replica) => readFile(join(workDir, namespace, replica, 'tls.crt'), 'utf8')));
        return served.every((pem) => pem === stored);
      },
      { description: 'every replica to serve the stored certificate', timeoutMs: 10_000 },
    );
    expect(replicas.map((replica) => replica.caBundle())).toEqual([bundle, bundle, bundle]);
    const configuration = await admission.readMutatingWebhookConfiguration({ name: namespace });
    expect(Buffer.from(configuration.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8')).toBe(bundle);
    // Converged means settled: more rounds change nothing.
    await Promise.all(replicas.map((replica) => replica.syncNow()));
    const after = await core.readNamespacedSecret({ name: 'webhook-tls', namespace });
    expect(after.metadata?.resourceVersion).toBe(secret.metadata?.resourceVersion);
  });

  it('issues a serving certificate of a new CA only once the webhook configuration carries its bundle', async () => {
    const namespace = await createTestNamespace(controlPlane, 'staged');
    await registerConfiguration(namespace);
    // A CA staged long ago whose bundle never reached the configuration (its patch failed): the propagation delay
    // is over, so the next round serves a certificate of the new CA.
    const oldCa = await createCertificateAuthority('old', 365);
    const newCa = await createCertificateAuthority('new', 365);
    const oldLeaf = await oldCa.issue({ commonName: 'webhook', dnsNames: [`webhook.${namespace}.svc`], usage: 'server', validDays: 90 });
    const bundle = joinPemBundle([newCa.certificatePem, oldCa.certificatePem]);
    const base64 = (text: string) => Buffer.from(text).toString('base64');
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'webhook-tls', annotations: { [caRotatedAtAnnotation]: new Date(Date.now() - day).toISOString() } },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': base64(oldLeaf.certificatePem), 'tls.key': base64(oldLeaf.privateKeyPem), 'ca.crt': base64(bundle), 'ca.key': base64(newCa.privateKeyPem) },
      },
    });
    running.push(await startReplica(replicaOptions(namespace, 'leader')));
    const secret = await core.readNamespacedSecret({ name: 'webhook-tls', namespace });
    const served = Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
    expect(await isSignedBy(served, newCa.certificatePem)).toBe(true);
    const configuration = await admission.readMutatingWebhookConfiguration({ name: namespace });
    expect(splitPemBundle(Buffer.from(configuration.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8'))).toEqual(splitPemBundle(bundle));
    // One etcd numbers all writes in order: the bundle was patched before the new certificate was stored.
    expect(BigInt(configuration.metadata?.resourceVersion ?? '0')).toBeLessThan(BigInt(secret.metadata?.resourceVersion ?? '0'));
  });

  it('a non-leader waits for the Secret and copies it, writing nothing', async () => {
    const namespace = await createTestNamespace(controlPlane, 'follower');
    await registerConfiguration(namespace);
    const followerLog: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => followerLog.push(JSON.parse(line).msg as string) });
    let followerStarted = false;
    const follower = startReplica(replicaOptions(namespace, 'follower', { logger }), false).then((started) => {
      followerStarted = true;
      running.push(started);
      return started;
    });
    // Before any leader the follower keeps waiting, round after round, and creates nothing itself.
    const waiting = 'waiting for the leader to create the certificate Secret';
    await waitFor(() => followerLog.filter((message) => message === waiting).length >= 2, {
      description: 'two rounds of the follower waiting for the leader',
      timeoutMs: 20_000,
    });
    expect((await core.listNamespacedSecret({ namespace })).items).toEqual([]);
    expect(followerStarted).toBe(false);
    const leader = await startReplica(replicaOptions(namespace, 'leader'));
    running.push(leader);
    await follower;
    const followerCert = await readFile(join(workDir, namespace, 'follower', 'tls.crt'), 'utf8');
    expect(followerCert).toBe(await readFile(join(workDir, namespace, 'leader', 'tls.crt'), 'utf8'));
    expect(followerLog).not.toContain('webhook certificates updated');
    expect(followerLog).not.toContain('CA bundle patched into webhook configuration');
  });
});
