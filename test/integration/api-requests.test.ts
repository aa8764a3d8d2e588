// src/kube/api-requests.ts against the real API server: answers are the server's JSON as is (field names like
// `continue`, times as strings), writes sent unread still happen and keep the pooled connection usable, and a
// failed call throws the status and message api-errors.ts classifies (404, 409, 422), hostile names included.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorMessage, apiStatusCode, isConflict, isNotFound } from '../../src/kube/api-errors.ts';
import { apiRequests, patchTypes, resourcePath, type ApiRequests } from '../../src/kube/api-requests.ts';
import { loadKubeConfig } from '../../src/kube/kube-config.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';

let controlPlane: ControlPlane;
let api: ApiRequests;
let core: k8s.CoreV1Api;
let namespace: string;

beforeAll(async () => {
  controlPlane = await startControlPlane();
  const config = loadKubeConfig(controlPlane.kubeconfigPath);
  api = apiRequests(config);
  core = config.makeApiClient(k8s.CoreV1Api);
  namespace = await createTestNamespace(controlPlane, 'api-requests');
});

afterAll(async () => {
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
