// The shipped install (deploy/install.yaml) on a real API server, with the webhook running as a process under a
// token of the shipped ServiceAccount: it creates its certificate Secret, patches the CA bundle into the shipped
// webhook configuration, is called by the API server through it, rotates its CA and serving certificate (forced
// short lifetimes) without a single failed admission, and is refused what its RBAC does not grant.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitPemBundle } from '../../src/certs/inspect.ts';
import { sandboxPod } from '../fixtures/pods.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { installManifest, release } from '../harness/helm.ts';
import { waitUntilWebhookActive } from '../harness/webhook.ts';
import { startWebhookProcess, type WebhookProcess } from '../harness/webhook-process.ts';
import { waitFor } from '../harness/wait.ts';

const root = new URL('../..', import.meta.url).pathname;
const name = release.name;
const systemNamespace = release.namespace;
const secretName = `${name}-tls`;

// Forced short lifetimes, derived from the round interval and the propagation delay: the command line wants each
// renewal window (the last third of a lifetime) to cover the delay plus eight intervals; three times that leaves a
// loaded machine, whose rounds run seconds late (measured: up to 5 s from a write to the reload), time to renew
// and reload before anything expires.
const checkIntervalMs = 500;
const propagationDelayMs = 3_000;
const lifetimeMs = 3 * 3 * (propagationDelayMs + 8 * checkIntervalMs);

let controlPlane: ControlPlane;
let admin: { core: k8s.CoreV1Api; admission: k8s.AdmissionregistrationV1Api };
let asWebhook: { core: k8s.CoreV1Api; admission: k8s.AdmissionregistrationV1Api };
let webhook: WebhookProcess;
let namespace: string;
let workDir: string;
const cleanups: Array<() => Promise<unknown>> = [];

const injected = (pod: k8s.V1Pod) => (pod.spec?.volumes ?? []).some((volume) => volume.name.startsWith('sandbox-storage-'));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function statusOf(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (error) {
    if (error instanceof k8s.ApiException) return error.code;
    throw error;
  }
}

async function storedSecret() {
  const secret = await admin.core.readNamespacedSecret({ name: secretName, namespace: systemNamespace });
  const field = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
  return { caBundle: field('ca.crt'), tlsCert: field('tls.crt') };
}

async function configuredCaBundle(): Promise<string> {
  const configuration = await admin.admission.readMutatingWebhookConfiguration({ name });
  return Buffer.from(configuration.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8');
}

/** A fresh TLS handshake (no connection reuse) verified against `caPem`, as the API server makes after a reload. */
function freshHandshake(port: number, caPem: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = request({ host: '127.0.0.1', port, path: '/readyz', ca: caPem, agent: false, timeout: 5_000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    probe.on('timeout', () => probe.destroy(new Error('timed out')));
    probe.on('error', reject);
    probe.end();
  });
}

beforeAll(async () => {
  controlPlane = await startControlPlane();
  cleanups.push(() => controlPlane.stop());
  admin = {
    core: controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api),
    admission: controlPlane.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api),
  };
  workDir = await mkdtemp(join(tmpdir(), 'sandbox-storage-self-managed-'));
  cleanups.push(() => rm(workDir, { recursive: true, force: true }));

  const applied = await controlPlane.kubectl(['apply', '--server-side', '-f', installManifest]);
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  // The shipped install follows cluster policies; the admin adds the first one.
  await waitFor(async () => (await controlPlane.kubectl(['get', 'sandboxstoragepolicies'])).code === 0, {
    description: 'the SandboxStoragePolicy CRD to be served',
    timeoutMs: 30_000,
  });
  const policy = await controlPlane.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'sandbox-storage.io/v1alpha1', kind: 'SandboxStoragePolicy', metadata: { name: 'default' }, spec: { mode: 'workspace' } }),
  });
  expect(policy.code, policy.stderr).toBe(0);

  // The one local adaptation: the API server reaches the process by URL instead of through the Service.
  const port = await freePort();
  await admin.admission.patchMutatingWebhookConfiguration(
    { name, body: [{ op: 'replace', path: '/webhooks/0/clientConfig', value: { url: `https://127.0.0.1:${port}/mutate` } }] },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  );
  await admin.admission.patchValidatingWebhookConfiguration(
    { name, body: [{ op: 'replace', path: '/webhooks/0/clientConfig', value: { url: `https://127.0.0.1:${port}/validate` } }] },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  );

  // Credentials of the shipped ServiceAccount, nothing more (TokenRequest, as the kubelet would mount them).
  const token = await admin.core.createNamespacedServiceAccountToken({
    name,
    namespace: systemNamespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const tokenKubeconfig = join(workDir, 'webhook.kubeconfig');
  await writeFile(
    tokenKubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'test', cluster: { server: controlPlane.serverUrl, 'certificate-authority-data': Buffer.from(controlPlane.caCertificatePem).toString('base64') } },
      ],
      users: [{ name: 'webhook', user: { token: token.status?.token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'webhook' } }],
      'current-context': 'test',
    }),
  );
  const webhookConfig = new k8s.KubeConfig();
  webhookConfig.loadFromFile(tokenKubeconfig);
  asWebhook = { core: webhookConfig.makeApiClient(k8s.CoreV1Api), admission: webhookConfig.makeApiClient(k8s.AdmissionregistrationV1Api) };

  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.POD_NAMESPACE;
  webhook = startWebhookProcess(
    process.execPath,
    [
      join(root, 'src/cli.ts'),
      'run',
      // As the chart runs it: webhooks and controller, one Lease per release held by the Pod's name.
      `--lease-name=${name}`,
      `--lease-namespace=${systemNamespace}`,
      '--identity=replica-0',
      // As the chart runs it: the release's ownership key Secret in the release namespace.
      `--ownership-key-secret=${name}-ownership-key`,
      `--ownership-key-namespace=${systemNamespace}`,
      // As the chart runs it: cluster policies, status written back.
      '--cluster-policies',
      '--write-policy-status',
      '--metrics-port=none',
      '--host=127.0.0.1',
      `--port=${port}`,
      `--kubeconfig=${tokenKubeconfig}`,
      `--tls-cert-file=${join(workDir, 'tls', 'tls.crt')}`,
      `--tls-key-file=${join(workDir, 'tls', 'tls.key')}`,
      '--self-managed-certs',
      `--cert-secret=${secretName}`,
      `--webhook-configuration=${name}`,
      `--namespace=${systemNamespace}`,
      `--service-name=${name}`,
      '--cert-extra-san=127.0.0.1',
      // CA and serving certificate alike: both are due after two thirds, the serving certificate is renewed first
      // (it must outlast the wait for the new CA), the new CA signs one after the delay, the old one expires.
      `--ca-validity=${lifetimeMs}ms`,
      `--cert-validity=${lifetimeMs}ms`,
      `--ca-propagation-delay=${propagationDelayMs}ms`,
      `--cert-check-interval=${checkIntervalMs}ms`,
    ],
    { cwd: root, env },
  );
  cleanups.unshift(() => webhook.stop());
  await webhook.listening;
  namespace = await createTestNamespace(controlPlane, 'self-managed');
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('self-managed certificates with the shipped install', () => {
  it('creates its Secret, patches the CA bundle into the shipped configuration, and is called through it', async () => {
    const shipped = await readFile(installManifest, 'utf8');
    expect(shipped).not.toContain('caBundle');
    await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, sandboxPod() as unknown as k8s.V1Pod, injected);
    const stored = await storedSecret();
    expect(splitPemBundle(stored.caBundle).length).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await configuredCaBundle()) === (await storedSecret()).caBundle, {
      description: 'the webhook configuration to carry the Secret CA bundle',
      timeoutMs: 10_000,
    });
    const created = await admin.core.createNamespacedPod({ namespace, body: sandboxPod() as unknown as k8s.V1Pod });
    expect(injected(created)).toBe(true);
    expect(webhook.logs.some((line) => line.msg === 'CA bundle patched into webhook configuration')).toBe(true);
  });

  it('follows cluster policies and writes their status with the same token', async () => {
    const objects = controlPlane.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const conditions = await waitFor(
      async () => {
        const policy = (await objects.getClusterCustomObject({ group: 'sandbox-storage.io', version: 'v1alpha1', plural: 'sandboxstoragepolicies', name: 'default' })) as {
          status?: { conditions?: Array<{ type: string; status: string }> };
        };
        return policy.status?.conditions?.length ? policy.status.conditions : undefined;
      },
      { description: 'the webhook to write the policy status', timeoutMs: 30_000 },
    );
    expect(conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
  });

  it('rotates the CA and the serving certificate with zero failed admissions', async () => {
    const port = await webhook.listening;
    const seenCas = new Set<string>();
    const seenLeaves = new Set<string>();
    const failures: string[] = [];
    let admissions = 0;
    let handshakes = 0;
    const first = await storedSecret();
    const firstCa = splitPemBundle(first.caBundle)[0] as string;
    await waitFor(
      async () => {
        const stored = await storedSecret();
        seenCas.add(splitPemBundle(stored.caBundle)[0] as string);
        seenLeaves.add(stored.tlsCert);
        try {
          const pod = await admin.core.createNamespacedPod({ namespace, body: sandboxPod() as unknown as k8s.V1Pod, dryRun: 'All' });
          admissions += 1;
          if (!injected(pod)) failures.push('admitted without injection');
        } catch (error) {
          failures.push(`admission failed: ${(error as Error).message}`);
        }
        try {
          const status = await freshHandshake(port, await configuredCaBundle());
          handshakes += 1;
          if (status !== 200) failures.push(`readyz answered ${status}`);
        } catch (error) {
          failures.push(`fresh TLS handshake with the configured CA bundle failed: ${(error as Error).message}`);
        }
        // Done once a new CA is in charge and has signed at least two serving certificates of the run.
        return seenCas.size >= 2 && seenLeaves.size >= 3 && !splitPemBundle((await storedSecret()).caBundle).includes(firstCa)
          ? true
          : undefined;
      },
      { description: 'a CA rotation, serving certificate rotations and the old CA pruned', timeoutMs: 2 * lifetimeMs, intervalMs: 50 },
    );
    expect(failures).toEqual([]);
    expect(admissions).toBeGreaterThan(20);
    expect(handshakes).toBeGreaterThan(20);
    // The process logs each step right after its write, so its log can trail what the Secret already shows.
    const steps = () => webhook.logs.filter((line) => line.msg === 'webhook certificates updated').map((line) => line.step);
    await waitFor(() => steps().includes('prune-bundle'), { description: 'the prune step in the webhook log', timeoutMs: 10_000 });
    expect(steps()).toEqual(expect.arrayContaining(['create', 'rotate-ca', 'reissue-leaf', 'prune-bundle']));
    expect(webhook.logs.filter((line) => line.msg === 'serving certificate reloaded').length).toBeGreaterThanOrEqual(2);
  }, 3 * lifetimeMs);

  it('is refused what the shipped RBAC does not grant', async () => {
    // What it needs works with the same token (read namespaces, its own Secret and webhook configuration) ...
    expect(await statusOf(() => asWebhook.core.readNamespace({ name: namespace }))).toBe(200);
    expect(await statusOf(() => asWebhook.core.readNamespacedSecret({ name: secretName, namespace: systemNamespace }))).toBe(200);
    expect(await statusOf(() => asWebhook.admission.readMutatingWebhookConfiguration({ name }))).toBe(200);
    // The ownership key the process created with the shipped Role: readable by name, and immutable.
    const key = await waitFor(
      async () => (await statusOf(() => asWebhook.core.readNamespacedSecret({ name: `${name}-ownership-key`, namespace: systemNamespace }))) === 200,
      { description: 'the ownership key Secret', timeoutMs: 30_000 },
    );
    expect(key).toBe(true);
    expect((await admin.core.readNamespacedSecret({ name: `${name}-ownership-key`, namespace: systemNamespace })).immutable).toBe(true);
    // ... anything else does not.
    await admin.core.createNamespacedSecret({ namespace: systemNamespace, body: { metadata: { name: 'someone-elses' }, stringData: { a: 'b' } } });
    await admin.admission.createMutatingWebhookConfiguration({ body: { metadata: { name: 'someone-elses' }, webhooks: [] } });
    expect(await statusOf(() => asWebhook.core.readNamespacedSecret({ name: 'someone-elses', namespace: systemNamespace }))).toBe(403);
    expect(await statusOf(() => asWebhook.core.listNamespacedSecret({ namespace: systemNamespace }))).toBe(403);
    expect(await statusOf(() => asWebhook.core.deleteNamespacedSecret({ name: secretName, namespace: systemNamespace }))).toBe(403);
    expect(await statusOf(() => asWebhook.core.createNamespacedSecret({ namespace, body: { metadata: { name: 'x' } } }))).toBe(403);
    expect(
      await statusOf(() =>
        asWebhook.admission.patchMutatingWebhookConfiguration(
          { name: 'someone-elses', body: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }] },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
        ),
      ),
    ).toBe(403);
    expect(await statusOf(() => asWebhook.admission.deleteMutatingWebhookConfiguration({ name }))).toBe(403);
    expect(await statusOf(() => asWebhook.core.createNamespacedPod({ namespace, body: sandboxPod() as unknown as k8s.V1Pod }))).toBe(403);
    expect(await statusOf(() => asWebhook.core.patchNamespace(
      { name: namespace, body: [{ op: 'add', path: '/metadata/labels/x', value: 'y' }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    ))).toBe(403);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    expect(await webhook.stop()).toBe(0);
  });
});
