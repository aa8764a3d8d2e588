// Thin wrapper over the Pod calls the controller makes: removing our scheduling gate.
import type * as k8s from '@kubernetes/client-node';
import { apiStatusCode, isNotFound } from './api-errors.ts';
import { apiRequests, patchTypes, resourcePath } from './api-requests.ts';
import { storageSchedulingGate } from '../labels.ts';

export interface PodClient {
  /** Removes the storage gate; 'gone' when the Pod or the gate no longer exists. */
  removeStorageGate(pod: k8s.V1Pod): Promise<'removed' | 'gone'>;
}

export function podClient(config: k8s.KubeConfig): PodClient {
  const api = apiRequests(config);
  return {
    async removeStorageGate(pod) {
      const index = (pod.spec?.schedulingGates ?? []).findIndex((gate) => gate.name === storageSchedulingGate);
      if (index < 0) return 'gone';
      // The test makes the removal exact even if other gates were removed meanwhile (the patch then fails, 422).
      const patch = [
        { op: 'test', path: `/spec/schedulingGates/${index}/name`, value: storageSchedulingGate },
        { op: 'remove', path: `/spec/schedulingGates/${index}` },
      ];
      try {
        // Not read: the answer is the whole Pod, and the watch brings it anyway.
        await api.send('PATCH', resourcePath({ version: 'v1', resource: 'pods', namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '' }), {
          body: patch,
          contentType: patchTypes.json,
        });
        return 'removed';
      } catch (error) {
        // 422: the test op failed, the gates changed since our cached copy (typically: already removed). The watch
        // brings the new Pod and enqueues it again if it is still gated.
        if (isNotFound(error) || apiStatusCode(error) === 422) return 'gone';
        throw error;
      }
    },
  };
}
