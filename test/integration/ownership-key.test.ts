// The ownership key Secret against a real API server: created once by whichever replica is first (the others read
// it), never overwritten, and picked up by a replica that started before it existed.
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipKeySecretBody, ownershipKeySource, type OwnershipKeySource } from '../../src/kube/ownership-key.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';

let controlPlane: ControlPlane;
let namespace: string;
const sources: OwnershipKeySource[] = [];
const logger = pino({ level: 'silent' });

function source(secretName: string, options: { create?: boolean; retryIntervalMs?: number } = {}): OwnershipKeySource {
  const started = ownershipKeySource({ kubeConfig: controlPlane.kubeConfig, namespace, secretName, logger, minReadIntervalMs: 0, ...options });
  sources.push(started);
  return started;
}

beforeAll(async () => {
  controlPlane = await startControlPlane();
  namespace = await createTestNamespace(controlPlane, 'ownership-key');
});

afterAll(async () => {
  for (const started of sources) started.stop();
  await controlPlane?.stop();
});

describe('ownership key Secret', () => {
  it('five replicas starting at once agree on one key, created once, immutable', async () => {
    const keys = await Promise.all(Array.from({ length: 5 }, () => source('race-key').ensure()));
    const first = Buffer.from(keys[0] as Uint8Array).toString('hex');
    expect(first).toHaveLength(64);
    for (const key of keys) expect(Buffer.from(key).toString('hex')).toBe(first);
    const secret = await controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ namespace, name: 'race-key' });
    expect(Buffer.from(secret.data?.key ?? '', 'base64').toString('hex')).toBe(first);
    expect(secret.immutable).toBe(true);
  });

  it('a malformed Secret is reported and never overwritten', async () => {
    const core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'short-key' }, data: { key: Buffer.from('too short').toString('base64') } } });
    await expect(source('short-key').ensure()).rejects.toThrow(/short-key is unusable \(data.key holds 9 bytes, not 32\); it is never overwritten/);
    const secret = await core.readNamespacedSecret({ namespace, name: 'short-key' });
    expect(Buffer.from(secret.data?.key ?? '', 'base64').toString()).toBe('too short');
  });

  it('a replica that may not create it picks the key up once another made it (on its interval, or when asked after an unproven PVC)', async () => {
    const reader = source('late-key', { create: false, retryIntervalMs: 60_000 });
    await expect(reader.ensure()).rejects.toThrow(/late-key does not exist yet/);
    expect(reader.current()).toBeUndefined();
    const key = new Uint8Array(32).fill(3);
    await controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace, body: ownershipKeySecretBody(namespace, 'late-key', key) });
    reader.unproven();
    const found = await waitFor(() => reader.current(), { description: 'the reader to pick the key up' });
    expect(Buffer.from(found).equals(Buffer.from(key))).toBe(true);
  });
});
