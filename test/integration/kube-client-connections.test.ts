// The API clients built from loadKubeConfig keep their TLS connections to the real API server: a burst of calls
// (a controller reconciling 1,000 new Pods) must not open a connection, with a client-certificate handshake on both
// sides, per call. A CA file rewritten in place (rotation) is picked up by a new pool.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../src/certs/issue.ts';
import { loadKubeConfig } from '../../src/kube/kube-config.ts';
import { startControlPlane, type ControlPlane } from '../harness/controlplane.ts';

let controlPlane: ControlPlane;
let scratch: string;
let connections = 0;
const countConnection = () => {
  connections += 1;
};

beforeAll(async () => {
  controlPlane = await startControlPlane();
  scratch = mkdtempSync(join(tmpdir(), 'kube-client-connections-'));
  // undici (client-node's HTTP client) announces every new connection on this channel.
  subscribe('undici:client:connected', countConnection);
});

afterAll(async () => {
  unsubscribe('undici:client:connected', countConnection);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  await controlPlane?.stop();
});

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

