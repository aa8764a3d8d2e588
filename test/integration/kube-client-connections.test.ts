// The API clients built from loadKubeConfig keep their TLS connections to the real API server: a burst of calls
// (a controller reconciling 1,000 new Pods) must not open a connection, with a client-certificate handshake on both
// sides, per call. A CA file rewritten in place (rotation) is picked up by a new pool. Both for apiRequests (the
// long-running paths, api-transport.ts) and for client-node's generated clients (one-shot commands, kube-config.ts).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../src/certs/issue.ts';
import { apiRequests, resourcePath, type ApiRequests } from '../../src/kube/api-requests.ts';
import { loadKubeConfig } from '../../src/kube/kube-config.ts';
import { startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';

let controlPlane: ControlPlane;
let scratch: string;
let connections = 0;
const countConnection = () => {
  connections += 1;
};

beforeAll(async () => {
  controlPlane = await startControlPlane({ clientIdentities: [{ name: 'rotated', commonName: 'rotated-client', organizations: ['system:masters'] }] });
  scratch = mkdtempSync(join(tmpdir(), 'kube-client-connections-'));
  // undici (client-node's HTTP client) announces every new connection on this channel.
  subscribe('undici:client:connected', countConnection);
  // node:http(s) (api-transport.ts) announces every request; its socket says whether it is a new connection.
  subscribe('http.client.request.created', noteSocket);
});

afterAll(async () => {
  unsubscribe('undici:client:connected', countConnection);
  unsubscribe('http.client.request.created', noteSocket);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  await controlPlane?.stop();
});

const sockets = new Set<Socket>();
function noteSocket(message: unknown) {
  (message as { request: ClientRequest }).request.on('socket', (socket) => sockets.add(socket));
}

async function socketsFor(run: () => Promise<unknown>): Promise<Socket[]> {
  const before = new Set(sockets);
  await run();
  return [...sockets].filter((socket) => !before.has(socket));
}

async function connectionsFor(run: () => Promise<unknown>): Promise<number> {
  const before = connections;
  await run();
  return connections - before;
}

describe('API client connections', () => {
  it('client-node alone opens a connection per request (why loadKubeConfig pools them)', async () => {
    const config = new k8s.KubeConfig();
    config.loadFromFile(controlPlane.kubeconfigPath);
    const core = config.makeApiClient(k8s.CoreV1Api);
    const opened = await connectionsFor(async () => {
      for (let call = 0; call < 10; call += 1) await core.listNamespace({ limit: 1 });
    });
    // If this fails, client-node pools connections itself and reuseConnections can go.
    expect(opened).toBe(10);
  });

  it('sequential and concurrent calls through loadKubeConfig reuse kept-alive connections', async () => {
    const core = loadKubeConfig(controlPlane.kubeconfigPath).makeApiClient(k8s.CoreV1Api);
    const sequential = await connectionsFor(async () => {
      for (let call = 0; call < 30; call += 1) await core.listNamespace({ limit: 1 });
    });
    expect(sequential).toBe(1);
    const concurrent = await connectionsFor(() => Promise.all(Array.from({ length: 40 }, () => core.listNamespace({ limit: 1 }))));
    // At most one connection per request in flight at once, and none for later rounds.
    expect(concurrent).toBeLessThanOrEqual(40);
    const again = await connectionsFor(() => Promise.all(Array.from({ length: 40 }, () => core.listNamespace({ limit: 1 }))));
    expect(again).toBeLessThanOrEqual(Math.max(0, 40 - concurrent));
  });

  it('a rewritten CA file gives a new pool that verifies against the new contents', async () => {
    const original = JSON.parse(readFileSync(controlPlane.kubeconfigPath, 'utf8')) as {
      clusters: Array<{ cluster: Record<string, string> }>;
    };
    const caPath = join(scratch, 'ca.crt');
    writeFileSync(caPath, controlPlane.caCertificatePem);
    const cluster = original.clusters[0]!.cluster;
    delete cluster['certificate-authority-data'];
    cluster['certificate-authority'] = caPath;
    const kubeconfigPath = join(scratch, 'kubeconfig.json');
    writeFileSync(kubeconfigPath, JSON.stringify(original));
    const core = loadKubeConfig(kubeconfigPath).makeApiClient(k8s.CoreV1Api);
    expect(await connectionsFor(async () => {
      for (let call = 0; call < 5; call += 1) await core.listNamespace({ limit: 1 });
    })).toBe(1);
    // Same CA with a trailing comment line: different bytes, still valid.
    writeFileSync(caPath, `${controlPlane.caCertificatePem}\n# rotated\n`);
    expect(await connectionsFor(async () => {
      for (let call = 0; call < 5; call += 1) await core.listNamespace({ limit: 1 });
    })).toBe(1);
    // A CA that did not sign the server: the new pool refuses the server.
    writeFileSync(caPath, (await createCertificateAuthority('unrelated test CA')).certificatePem);
    await expect(core.listNamespace({ limit: 1 })).rejects.toThrow();
  });
});


const namespaces = resourcePath({ version: 'v1', resource: 'namespaces' });
const listOne = (api: ApiRequests) => api.json('GET', namespaces, { query: { limit: 1 } });

function kubeconfigWithFiles(name: string, files: { ca?: string; cert?: string; key?: string }): string {
  const original = JSON.parse(readFileSync(controlPlane.kubeconfigPath, 'utf8')) as {
    clusters: Array<{ cluster: Record<string, string> }>;
    users: Array<{ user: Record<string, string> }>;
  };
  const cluster = original.clusters[0]!.cluster;
  const user = original.users[0]!.user;
  if (files.ca) {
    delete cluster['certificate-authority-data'];
    cluster['certificate-authority'] = files.ca;
  }
  if (files.cert && files.key) {
    delete user['client-certificate-data'];
    delete user['client-key-data'];
    user['client-certificate'] = files.cert;
    user['client-key'] = files.key;
  }
  const path = join(scratch, `${name}.kubeconfig.json`);
  writeFileSync(path, JSON.stringify(original));
  return path;
}

describe('apiRequests connections', () => {
  it('sequential and concurrent calls reuse kept-alive connections, and a burst opens a bounded number', async () => {
    const api = apiRequests(loadKubeConfig(controlPlane.kubeconfigPath));
    const sequential = await socketsFor(async () => {
      for (let call = 0; call < 30; call += 1) await listOne(api);
    });
    expect(sequential).toHaveLength(1);
    const concurrent = await socketsFor(() => Promise.all(Array.from({ length: 40 }, () => listOne(api))));
    // At most one connection per request in flight at once, and none for later rounds.
    expect(concurrent.length).toBeLessThanOrEqual(40);
    const again = await socketsFor(() => Promise.all(Array.from({ length: 40 }, () => listOne(api))));
    expect(again.length).toBeLessThanOrEqual(Math.max(0, 40 - concurrent.length));
    // Bursts far beyond the pool's size wait for its sockets instead of opening one each; repeated, they do not
    // add up.
    const bursts = await socketsFor(async () => {
      for (let round = 0; round < 3; round += 1) await Promise.all(Array.from({ length: 300 }, () => listOne(api)));
    });
    const all = [...sequential, ...concurrent, ...again, ...bursts];
    expect(all.length).toBeLessThanOrEqual(64);
    expect(all.filter((socket) => !socket.destroyed).length).toBeLessThanOrEqual(64);
  });

  it('a rewritten CA file gives a new pool that verifies against the new contents; the old one closes', async () => {
    const caPath = join(scratch, 'requests-ca.crt');
    writeFileSync(caPath, controlPlane.caCertificatePem);
    const api = apiRequests(loadKubeConfig(kubeconfigWithFiles('requests-ca', { ca: caPath })));
    const first = await socketsFor(async () => {
      for (let call = 0; call < 5; call += 1) await listOne(api);
    });
    expect(first).toHaveLength(1);
    // Same CA with a trailing comment line: different bytes, still valid. Picked up within a second.
    writeFileSync(caPath, `${controlPlane.caCertificatePem}\n# rotated\n`);
    await waitFor(async () => (await socketsFor(() => listOne(api))).length === 1, { description: 'a request on a new connection', timeoutMs: 30_000 });
    await waitFor(() => first[0]!.destroyed, { description: 'the old pool closing its idle socket', timeoutMs: 30_000 });
    // A CA that did not sign the server: the new pool refuses the server.
    writeFileSync(caPath, (await createCertificateAuthority('unrelated test CA')).certificatePem);
    await waitFor(() => listOne(api).then(() => false, (error: unknown) => String(error)), { description: 'the unrelated CA refusing the server', timeoutMs: 30_000 });
  });

  it('a rotated client certificate and key are picked up: the next requests authenticate as the new identity', async () => {
    const certPath = join(scratch, 'client.crt');
    const keyPath = join(scratch, 'client.key');
    const admin = JSON.parse(readFileSync(controlPlane.kubeconfigPath, 'utf8')) as { users: Array<{ user: Record<string, string> }> };
    const rotated = JSON.parse(readFileSync(controlPlane.clientKubeconfigs.rotated!, 'utf8')) as { users: Array<{ user: Record<string, string> }> };
    const pem = (user: Record<string, string>, field: string) => Buffer.from(user[field]!, 'base64');
    writeFileSync(certPath, pem(admin.users[0]!.user, 'client-certificate-data'));
    writeFileSync(keyPath, pem(admin.users[0]!.user, 'client-key-data'));
    const api = apiRequests(loadKubeConfig(kubeconfigWithFiles('client-files', { cert: certPath, key: keyPath })));
    const whoami = async () =>
      (await api.json<k8s.V1SelfSubjectReview>('POST', resourcePath({ group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews' }), {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      })).status?.userInfo?.username;
    const before = await socketsFor(async () => expect(await whoami()).toBe('admin'));
    // The key first, as a rotation may leave the pair mismatched for a moment: such a request fails, the next works.
    writeFileSync(keyPath, pem(rotated.users[0]!.user, 'client-key-data'));
    writeFileSync(certPath, pem(rotated.users[0]!.user, 'client-certificate-data'));
    await waitFor(() => whoami().then((name) => name === 'rotated-client'), { description: 'requests as rotated-client', timeoutMs: 30_000 });
    await waitFor(() => before.every((socket) => socket.destroyed), { description: 'the old pool closing its sockets', timeoutMs: 30_000 });
  });
});
