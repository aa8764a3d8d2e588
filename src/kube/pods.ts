// Thin wrapper over the Pod calls the controller makes: removing our scheduling gate.
import * as k8s from '@kubernetes/client-node';
import { apiStatusCode, isNotFound } from './api-errors.ts';
import { storageSchedulingGate } from '../labels.ts';
import { answerUnread } from './unread-answer.ts';

export interface PodClient {
  /** Removes the storage gate; 'gone' when the Pod or the gate no longer exists. */
  removeStorageGate(pod: k8s.V1Pod): Promise<'removed' | 'gone'>;
}

export function podClient(config: k8s.KubeConfig): PodClient {
  const core = config.makeApiClient(k8s.CoreV1Api);
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
        await core.patchNamespacedPod(
          { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', body: patch },
          // The answer is the whole Pod; the watch brings it anyway.
          answerUnread(k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch)),
        );
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
