// src/kube/api-requests.ts against the real API server: answers are the server's JSON as is (field names like
// `continue`, times as strings), writes sent unread still happen and keep the pooled connection usable, and a
// failed call throws the status and message api-errors.ts classifies (404, 409, 422), hostile names included.
// Bearer tokens, inline or from a file, authenticate as client-node makes them; an unreachable server, a plain-HTTP
// proxy's error page and a server that never answers a watch surface as errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorMessage, apiStatusCode, isConflict, isNotFound } from '../../src/kube/api-errors.ts';
import { apiRequests, patchTypes, resourcePath, type ApiRequests } from '../../src/kube/api-requests.ts';
import { apiWatch } from '../../src/kube/api-watch.ts';
import { loadKubeConfig } from '../../src/kube/kube-config.ts';
import { createTestNamespace, freePorts, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';

let controlPlane: ControlPlane;
let api: ApiRequests;
let core: k8s.CoreV1Api;
let namespace: string;
let scratch: string;

beforeAll(async () => {
  controlPlane = await startControlPlane();
  const config = loadKubeConfig(controlPlane.kubeconfigPath);
  api = apiRequests(config);
  core = config.makeApiClient(k8s.CoreV1Api);
  namespace = await createTestNamespace(controlPlane, 'api-requests');
  scratch = mkdtempSync(join(tmpdir(), 'api-requests-'));
});

afterAll(async () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  await controlPlane?.stop();
});

const configMap = (name?: string) => resourcePath({ version: 'v1', resource: 'configmaps', namespace, ...(name === undefined ? {} : { name }) });
const failure = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => error);

describe('apiRequests', () => {
  it('creates, reads and lists plain JSON, in pages with the API server’s continue token', async () => {
    const created = await api.json<k8s.V1ConfigMap>('POST', configMap(), { body: { metadata: { name: 'plain', labels: { page: 'yes' } }, data: { a: '1' } } });
    expect(created.metadata?.name).toBe('plain');
    // Not decoded into model objects: the timestamp is the API server's text.
    expect(typeof created.metadata?.creationTimestamp).toBe('string');
    expect((await api.json<k8s.V1ConfigMap>('GET', configMap('plain'))).data).toEqual({ a: '1' });
    for (const name of ['paged-1', 'paged-2', 'paged-3']) {
      await api.send('POST', configMap(), { body: { metadata: { name, labels: { page: 'yes' } } } });
    }
    const names: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await api.json<{ items: k8s.V1ConfigMap[]; metadata?: { continue?: string } }>('GET', configMap(), {
        query: { labelSelector: 'page=yes', limit: 2, continue: next },
      });
      pages += 1;
      names.push(...page.items.map((item) => item.metadata?.name ?? ''));
      next = page.metadata?.continue || undefined;
    } while (next);
    expect(pages).toBe(2);
    expect(names.sort()).toEqual(['paged-1', 'paged-2', 'paged-3', 'plain']);
  });

  it('sends writes unread: they happen, resolve to nothing, and the next calls on the connection work', async () => {
    await api.send('POST', configMap(), { body: { metadata: { name: 'unread' }, data: { a: '0' } } });
    for (let round = 1; round <= 20; round += 1) {
      await expect(api.send('PATCH', configMap('unread'), { body: [{ op: 'replace', path: '/data/a', value: String(round) }], contentType: patchTypes.json })).resolves.toBeUndefined();
    }
    await api.send('PATCH', configMap('unread'), { body: { data: { b: 'merged' } }, contentType: patchTypes.merge });
    expect((await core.readNamespacedConfigMap({ namespace, name: 'unread' })).data).toEqual({ a: '20', b: 'merged' });
  });

  it('throws the status and message of a failed call (404, 409, 422)', async () => {
    const missing = await failure(api.send('PATCH', configMap('absent'), { body: [{ op: 'remove', path: '/data/a' }], contentType: patchTypes.json }));
    expect(isNotFound(missing)).toBe(true);
    expect(apiErrorMessage(missing)).toMatch(/^HTTP 404: .*"absent" not found/);
    await api.send('POST', configMap(), { body: { metadata: { name: 'taken' }, data: { a: '1' } } });
    const taken = await failure(api.json('POST', configMap(), { body: { metadata: { name: 'taken' } } }));
    expect(isConflict(taken)).toBe(true);
    expect(apiErrorMessage(taken)).toMatch(/already exists/);
    const failedTest = await failure(api.send('PATCH', configMap('taken'), { body: [{ op: 'test', path: '/data/a', value: '2' }], contentType: patchTypes.json }));
    expect(apiStatusCode(failedTest)).toBe(422);
    const read = await api.json<k8s.V1ConfigMap>('GET', configMap('taken'));
    const stale = await failure(
      api.send('DELETE', configMap('taken'), { body: { preconditions: { uid: read.metadata?.uid, resourceVersion: '1' } } }),
    );
    expect(isConflict(stale)).toBe(true);
    expect((await api.json<k8s.V1ConfigMap>('GET', configMap('taken'))).data).toEqual({ a: '1' });
  });

  it('keeps a hostile name inside its path segment', async () => {
    // Unencoded, this would read the namespace's whole ConfigMap list (or another object).
    for (const name of ['../configmaps', 'x?labelSelector=a', '%2e%2e', 'a/b']) {
      const error = await failure(api.json('GET', configMap(name)));
      expect(apiStatusCode(error), name).toBeGreaterThanOrEqual(400);
    }
  });

  it('names the answer of a non-API endpoint by its status when the body is not JSON', async () => {
    const error = await failure(api.json('GET', '/no-such-endpoint'));
    expect(apiStatusCode(error)).toBe(404);
    expect(apiErrorMessage(error)).toMatch(/^HTTP 404/);
  });
});

/** A kubeconfig for `server` with `user`, verifying the control plane's CA unless told to skip verification. */
function kubeconfigFor(server: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): k8s.KubeConfig {
  const path = join(scratch, `kubeconfig-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server, 'certificate-authority-data': Buffer.from(controlPlane.caCertificatePem).toString('base64'), ...cluster } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  return loadKubeConfig(path);
}

const whoami = async (requests: ApiRequests) =>
  (await requests.json<k8s.V1SelfSubjectReview>('POST', resourcePath({ group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews' }), {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  })).status?.userInfo?.username;

async function listening(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}` };
}

describe('apiRequests authentication and failures', () => {
  it('authenticates with a bearer token, inline and from a token file', async () => {
    await api.send('POST', resourcePath({ version: 'v1', resource: 'serviceaccounts', namespace }), { body: { metadata: { name: 'reader' } } });
    const issued = await api.json<{ status: { token: string } }>(
      'POST',
      resourcePath({ version: 'v1', resource: 'serviceaccounts', namespace, name: 'reader' }) + '/token',
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } } },
    );
    const expected = `system:serviceaccount:${namespace}:reader`;
    expect(await whoami(apiRequests(kubeconfigFor(controlPlane.serverUrl, { token: issued.status.token })))).toBe(expected);
    // The shape of in-cluster config: client-node's tokenFile auth provider reads the projected token file.
    const tokenFile = join(scratch, 'token');
    writeFileSync(tokenFile, issued.status.token);
    const fromFile = apiRequests(kubeconfigFor(controlPlane.serverUrl, { 'auth-provider': { name: 'tokenFile', config: { tokenFile } } }));
    expect(await whoami(fromFile)).toBe(expected);
    const refused = await failure(apiRequests(kubeconfigFor(controlPlane.serverUrl, { token: 'not-a-token' })).json('GET', configMap()));
    expect(apiStatusCode(refused)).toBe(401);
  });

  it('fails with the connection error when nothing listens at the server address', async () => {
    const [port] = await freePorts(1);
    const error = await failure(apiRequests(kubeconfigFor(`https://127.0.0.1:${port}`, { token: 't' })).json('GET', configMap()));
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('talks plain HTTP to a server the kubeconfig names so (with insecure-skip-tls-verify), and keeps a proxy error page as text', async () => {
    const seen: Array<string | undefined> = [];
    const { server, url } = await listening((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>bad gateway</body></html>');
    });
    try {
      const plain = kubeconfigFor(url, { token: 'plain-token' }, { 'insecure-skip-tls-verify': true, 'certificate-authority-data': undefined });
      const error = await failure(apiRequests(plain).json('GET', configMap()));
      expect(apiStatusCode(error)).toBe(502);
      expect((error as { body?: unknown }).body).toBe('<html><body>bad gateway</body></html>');
      expect(seen).toEqual(['Bearer plain-token']);
      // client-node refuses plain HTTP unless verification is skipped on purpose; so does this, with its words.
      const refused = await failure(apiRequests(kubeconfigFor(url, { token: 't' }, { 'certificate-authority-data': undefined })).json('GET', configMap()));
      expect(String(refused)).toMatch(/HTTP protocol is not allowed/);
      expect(seen).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('ends a watch that receives nothing for its inactivity limit with a TimeoutError (ListWatch then watches again)', async () => {
    const { server, url } = await listening((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.flushHeaders();
    });
    try {
      const plain = kubeconfigFor(url, { token: 't' }, { 'insecure-skip-tls-verify': true, 'certificate-authority-data': undefined });
      const done: unknown[] = [];
      await apiWatch(plain, { inactivityTimeoutMs: 500 }).watch('/api/v1/pods', {}, () => undefined, (error) => done.push(error));
      await waitFor(() => done.length > 0, { description: 'the watch to time out', timeoutMs: 30_000 });
      expect(done).toHaveLength(1);
      expect((done[0] as Error).name).toBe('TimeoutError');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
