// answerUnread skips decoding a successful answer the caller never reads (gate patches, Events): against the real
// API server the write still happens, the call resolves, the connection stays usable, and a failed call still
// throws the API server's status with its message.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorMessage, apiStatusCode } from '../../src/kube/api-errors.ts';
import { loadKubeConfig } from '../../src/kube/kube-config.ts';
import { answerUnread } from '../../src/kube/unread-answer.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';

let controlPlane: ControlPlane;
let core: k8s.CoreV1Api;
let namespace: string;

beforeAll(async () => {
  controlPlane = await startControlPlane();
  core = loadKubeConfig(controlPlane.kubeconfigPath).makeApiClient(k8s.CoreV1Api);
  namespace = await createTestNamespace(controlPlane, 'unread-answer');
});

afterAll(async () => {
  await controlPlane?.stop();
});

const jsonPatch = (options?: k8s.ConfigurationOptions) => answerUnread(k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch, options));

describe('answerUnread', () => {
  it('applies the write, resolves without the decoded object, and the next calls on the connection work', async () => {
    const name = 'unread';
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { a: '1' } } });
    for (let round = 0; round < 20; round += 1) {
      const answer = await core.patchNamespacedConfigMap(
        { namespace, name, body: [{ op: 'replace', path: '/data/a', value: String(round) }] },
        jsonPatch(),
      );
      expect(answer.data).toBeUndefined();
    }
    const event = await core.createNamespacedEvent(
      { namespace, body: { metadata: { name: 'unread.1' }, involvedObject: { kind: 'ConfigMap', namespace, name }, reason: 'Test', message: 'm' } },
      answerUnread(),
    );
    expect(event.metadata).toBeUndefined();
    // The writes happened: read back without the option.
    expect((await core.readNamespacedConfigMap({ namespace, name })).data).toEqual({ a: '19' });
    expect((await core.readNamespacedEvent({ namespace, name: 'unread.1' })).reason).toBe('Test');
  });

  it('keeps the status and message of a failed call (404, 422)', async () => {
    const missing = await core
      .patchNamespacedConfigMap({ namespace, name: 'absent', body: [{ op: 'remove', path: '/data/a' }] }, jsonPatch())
      .then(() => undefined, (error: unknown) => error);
    expect(apiStatusCode(missing)).toBe(404);
    expect(apiErrorMessage(missing)).toMatch(/"absent" not found/);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'tested' }, data: { a: '1' } } });
    const failedTest = await core
      .patchNamespacedConfigMap({ namespace, name: 'tested', body: [{ op: 'test', path: '/data/a', value: '2' }] }, jsonPatch())
      .then(() => undefined, (error: unknown) => error);
    expect(apiStatusCode(failedTest)).toBe(422);
  });
});
