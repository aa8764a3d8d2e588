// The Pod calls of directory preparation: read, create and delete preparation Pods by name in one namespace.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound } from './api-errors.ts';
import { apiRequests, resourcePath } from './api-requests.ts';
import { makeInformer, watchedCache, type WatchedCache } from './informers.ts';
import { preparationPurpose, preparationPurposeLabel } from '../labels.ts';

export interface PreparationPodClient {
  get(namespace: string, name: string): Promise<k8s.V1Pod | undefined>;
  /** 'exists' when a Pod of that name is already there (another reconcile or replica was faster). */
  create(pod: k8s.V1Pod): Promise<'created' | 'exists'>;
  /** Deletes exactly this Pod (uid precondition); a Pod already gone or replaced is left alone. */
  delete(pod: k8s.V1Pod): Promise<void>;
}

const podPath = (namespace: string, name?: string) => resourcePath({ version: 'v1', resource: 'pods', namespace, name });

export function preparationPodClient(config: k8s.KubeConfig): PreparationPodClient {
  const api = apiRequests(config);
  return {
    async get(namespace, name) {
      try {
        return await api.json<k8s.V1Pod>('GET', podPath(namespace, name));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async create(pod) {
      try {
        await api.send('POST', podPath(pod.metadata?.namespace ?? ''), { body: pod });
        return 'created';
      } catch (error) {
        if (isConflict(error)) return 'exists';
        throw error;
      }
    },
    async delete(pod) {
      try {
        await api.send('DELETE', podPath(pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''), { body: { preconditions: { uid: pod.metadata?.uid ?? '' } } });
      } catch (error) {
        // 409: the precondition failed, the name now belongs to a newer Pod, which is not ours to delete here.
        if (isNotFound(error) || isConflict(error)) return;
        throw error;
      }
    },
  };
}

/** A watch of the preparation Pods in one namespace, so their phase changes wake the reconciler up. */
export function watchPreparationPods(config: k8s.KubeConfig, namespace: string, logger: Logger): WatchedCache<k8s.V1Pod> {
  const api = apiRequests(config);
  const labelSelector = `${preparationPurposeLabel}=${preparationPurpose}`;
  const informer = makeInformer(
    config,
    podPath(namespace),
    () => api.json<k8s.V1PodList>('GET', podPath(namespace), { query: { labelSelector } }),
    labelSelector,
  );
  return watchedCache(informer, `preparation pods in ${namespace}`, logger);
}
