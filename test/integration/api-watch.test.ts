// src/kube/api-watch.ts against the real API server: events arrive in order and whole, abort() ends the watch
// and its socket, a watch the server ends calls done, a refused watch reports its status, and an expired
// resourceVersion makes client-node's ListWatch list again, as with client-node's own Watch.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRequests, resourcePath, type ApiRequests } from '../../src/kube/api-requests.ts';
import { apiWatch } from '../../src/kube/api-watch.ts';
import { ERROR, ListWatch } from '../../src/kube/client-parts.ts';
import { loadKubeConfig } from '../../src/kube/kube-config.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';

let controlPlane: ControlPlane;
let config: k8s.KubeConfig;
let api: ApiRequests;
let namespace: string;

beforeAll(async () => {
  // ConfigMap watches straight from etcd, not the API server's watch cache: so that a compaction expires old
  // versions at once, as it does in a long-running cluster.
  controlPlane = await startControlPlane({ apiServerArgs: ['--watch-cache-sizes=configmaps#0'] });
  config = loadKubeConfig(controlPlane.kubeconfigPath);
  api = apiRequests(config);
  namespace = await createTestNamespace(controlPlane, 'api-watch');
});

afterAll(async () => {
  await controlPlane?.stop();
});

const configMaps = (name?: string) => resourcePath({ version: 'v1', resource: 'configmaps', namespace, ...(name === undefined ? {} : { name }) });

const until = <T>(description: string, check: () => T | undefined | false) => waitFor(check, { description, timeoutMs: 30_000, intervalMs: 20 });

interface Seen {
  type: string;
  name: string;
  resourceVersion: string;
  data?: Record<string, string>;
}

function recorder() {
  const events: Seen[] = [];
  const done: unknown[] = [];
  return {
    events,
    done,
    callback: (type: string, object: unknown) => {
      const metadata = (object as k8s.V1ConfigMap).metadata ?? {};
      events.push({ type, name: metadata.name ?? '', resourceVersion: metadata.resourceVersion ?? '', ...((object as k8s.V1ConfigMap).data ? { data: (object as k8s.V1ConfigMap).data } : {}) });
    },
    finished: (error: unknown) => done.push(error),
  };
}

/** Compacts etcd's history up to now, as the API server does every five minutes: older versions are gone. */
async function compactHistory(): Promise<void> {
  const range = await fetch(`${controlPlane.etcdUrl}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) });
  const revision = ((await range.json()) as { header: { revision: string } }).header.revision;
  const compacted = await fetch(`${controlPlane.etcdUrl}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision, physical: true }) });
  expect(compacted.status).toBe(200);
}

async function listVersion(): Promise<string> {
  return (await api.json<k8s.V1ConfigMapList>('GET', configMaps())).metadata?.resourceVersion ?? '';
}

describe('apiWatch', () => {
  it('hands over every event in order, multi-byte text and large objects whole', async () => {
    const from = await listVersion();
    const seen = recorder();
    const watch = await apiWatch(config).watch(configMaps(), { resourceVersion: from }, seen.callback, seen.finished);
    try {
      // Large enough to span many TCP segments and HTTP chunks.
      const large = '日本語 🚀 zürich '.repeat(8_000);
      const names = Array.from({ length: 15 }, (_, index) => `ordered-${index}`);
      for (const name of names) await api.send('POST', configMaps(), { body: { metadata: { name }, data: { text: large } } });
      for (const name of names) await api.send('PATCH', configMaps(name), { body: { data: { text: 'ß' } }, contentType: 'application/merge-patch+json' });
      for (const name of names) await api.send('DELETE', configMaps(name));
      await until('45 events', () => seen.events.length >= 45);
      expect(seen.events.map((event) => `${event.type} ${event.name}`)).toEqual([
        ...names.map((name) => `ADDED ${name}`),
        ...names.map((name) => `MODIFIED ${name}`),
        ...names.map((name) => `DELETED ${name}`),
      ]);
      expect(seen.events.slice(0, 15).every((event) => event.data?.text === large)).toBe(true);
      expect(seen.events.slice(15, 30).every((event) => event.data?.text === 'ß')).toBe(true);
      const versions = seen.events.map((event) => BigInt(event.resourceVersion));
      expect(versions.every((version, index) => index === 0 || version > versions[index - 1]!)).toBe(true);
      expect(seen.done).toEqual([]);
    } finally {
      watch.abort();
    }
  });

  it('abort() closes the watch socket and calls nothing more', async () => {
    const sockets: Socket[] = [];
    const created = ({ request }: { request: ClientRequest }) => {
      if (request.path.includes('watch=true')) request.on('socket', (socket) => sockets.push(socket));
    };
    subscribe('http.client.request.created', created as (message: unknown) => void);
    const seen = recorder();
    let watch: { abort(): void };
    try {
      watch = await apiWatch(config).watch(configMaps(), { resourceVersion: await listVersion() }, seen.callback, seen.finished);
    } finally {
      unsubscribe('http.client.request.created', created as (message: unknown) => void);
    }
    await api.send('POST', configMaps(), { body: { metadata: { name: 'before-abort' } } });
    await until('the event before abort', () => seen.events.length === 1);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.destroyed).toBe(false);
    watch.abort();
    await until('the watch socket closed', () => sockets[0]!.destroyed);
    // A later event on a second watch from the same point arrives; the aborted one stays silent.
    const later = recorder();
    const from = seen.events[0]!.resourceVersion;
    const second = await apiWatch(config).watch(configMaps(), { resourceVersion: from }, later.callback, later.finished);
    try {
      await api.send('POST', configMaps(), { body: { metadata: { name: 'after-abort' } } });
      await until('the event after abort on the second watch', () => later.events.some((event) => event.name === 'after-abort'));
      expect(seen.events.map((event) => event.name)).toEqual(['before-abort']);
      expect(seen.done).toEqual([]);
    } finally {
      second.abort();
    }
  });

  it('calls done(null) once when the API server ends the watch', async () => {
    const seen = recorder();
    // timeoutSeconds: the API server closes the stream itself, cleanly.
    await apiWatch(config).watch(configMaps(), { resourceVersion: await listVersion(), timeoutSeconds: 1 }, seen.callback, seen.finished);
    await until('done', () => seen.done.length > 0);
    expect(seen.done).toEqual([null]);
  });

  it('reports a refused watch with its status code', async () => {
    const seen = recorder();
    await apiWatch(config).watch(resourcePath({ version: 'v1', resource: 'nosuchresources', namespace }), {}, seen.callback, seen.finished);
    await until('done', () => seen.done.length > 0);
    expect(seen.done).toHaveLength(1);
    expect((seen.done[0] as { statusCode?: number }).statusCode).toBe(404);
    expect(seen.events).toEqual([]);
  });

  it('hands over the 410 Expired event of a resourceVersion too old, then ends', async () => {
    await api.send('POST', configMaps(), { body: { metadata: { name: 'compacted' } } });
    await compactHistory();
    const seen = recorder();
    const errors: unknown[] = [];
    await apiWatch(config).watch(
      configMaps(),
      { resourceVersion: '1' },
      (type, object) => {
        if (type === 'ERROR') errors.push(object);
        else seen.callback(type, object);
      },
      seen.finished,
    );
    await until('done', () => seen.done.length > 0);
    expect(errors).toEqual([expect.objectContaining({ kind: 'Status', code: 410 })]);
    expect(seen.done).toEqual([null]);
  });

  it('makes ListWatch list again after an expired resourceVersion, and then keeps the cache current', async () => {
    await api.send('POST', configMaps(), { body: { metadata: { name: 'relisted' } } });
    let lists = 0;
    const list = async () => {
      lists += 1;
      const answer = await api.json<k8s.V1ConfigMapList>('GET', configMaps());
      // The first list claims a version compacted away (by the test above).
      return lists === 1 ? { ...answer, metadata: { resourceVersion: '1' } } : answer;
    };
    const informer = new ListWatch<k8s.V1ConfigMap>(configMaps(), apiWatch(config) as unknown as k8s.Watch, list, false);
    const errors: unknown[] = [];
    informer.on(ERROR, (error) => errors.push(error));
    await informer.start();
    try {
      await until('a second list', () => lists >= 2);
      await api.send('POST', configMaps(), { body: { metadata: { name: 'after-relist' } } });
      await until('the cache to hold the new ConfigMap', () => informer.get('after-relist', namespace));
      expect(informer.get('relisted', namespace)?.metadata?.name).toBe('relisted');
      expect(lists).toBe(2);
      expect(errors).toEqual([]);
    } finally {
      await informer.stop();
    }
  });
});
