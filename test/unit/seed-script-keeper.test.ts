// The seed-script keeper when a Pod is deleted and its successor arrives while the unused ConfigMap is being
// deleted: the successor's gate may only be lifted once its ConfigMap exists again.
import type * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { seedScriptConfigMapName, seedScriptVolumeName } from '../../src/admission/seed-script-delivery.ts';
import { SeedScriptKeeper } from '../../src/controller/seed-script-keeper.ts';
import type { SeedScriptConfigMapClient } from '../../src/kube/seed-script-configmaps.ts';
import { controllerMetrics } from '../../src/metrics/controller-metrics.ts';

function pod(name: string): k8s.V1Pod {
  return {
    metadata: { namespace: 'ns', name, uid: name },
    spec: { containers: [], volumes: [{ name: seedScriptVolumeName, configMap: { name: seedScriptConfigMapName() } }] },
  };
}

/** ConfigMaps in memory; a delete is held until the test lets it finish. */
function heldStore() {
  const objects = new Map<string, k8s.V1ConfigMap>();
  let finishDelete: (() => void) | undefined;
  let deleteStarted: () => void = () => {};
  const deleting = new Promise<void>((resolve) => (deleteStarted = resolve));
  let uid = 0;
  const client: SeedScriptConfigMapClient = {
    get: async (namespace, name) => objects.get(`${namespace}/${name}`),
    create: async (body) => {
      const key = `${body.metadata?.namespace}/${body.metadata?.name}`;
      if (objects.has(key)) return 'exists';
      const created = { ...body, metadata: { ...body.metadata, uid: String((uid += 1)), resourceVersion: '1' } };
      objects.set(key, created);
      return created;
    },
    delete: async (namespace, name) => {
      deleteStarted();
      await new Promise<void>((resolve) => (finishDelete = resolve));
      return objects.delete(`${namespace}/${name}`) ? 'deleted' : 'gone';
    },
    listLabelled: async () => [...objects.values()],
  };
  return { objects, client, deleting, finish: () => finishDelete?.() };
}

describe('seed-script keeper', () => {
  it('lifts a successor Pod only once its ConfigMap exists again after a delete that was in flight', async () => {
    const store = heldStore();
    const keeper = new SeedScriptKeeper({
      configMaps: store.client,
      events: { normal: () => {}, warning: () => {} },
      metrics: controllerMetrics(new Registry()),
      logger: pino({ level: 'silent' }),
    });
    const first = pod('first');
    keeper.track(first, false);
    expect((await keeper.ready([first])).ready).toEqual([first]);
    expect(store.objects.size).toBe(1);

    keeper.track(first, true);
    await store.deleting;
    const second = pod('second');
    keeper.track(second, false);
    const released = keeper.ready([second]);
    store.finish();
    expect((await released).ready).toEqual([second]);
    expect([...store.objects.keys()]).toEqual([`ns/${seedScriptConfigMapName()}`]);
  });
});
