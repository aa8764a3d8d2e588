// Reads the Pod a CONNECT request (exec, attach, portforward) goes to: the request itself carries only the options.
// The API server's JSON as it is: the isolation rules read it by the API's own field names.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isNotFound } from './api-errors.ts';
import { apiRequests, resourcePath } from './api-requests.ts';

export type PodLookup = (namespace: string, name: string) => Promise<unknown>;

export function podLookup(config: k8s.KubeConfig, logger: Logger): PodLookup {
  const api = apiRequests(config);
  return async (namespace, name) => {
    try {
      return await api.json<k8s.V1Pod>('GET', resourcePath({ version: 'v1', resource: 'pods', namespace, name }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      logger.warn({ err: error, namespace, pod: name }, 'cannot read pod');
      throw new Error(`cannot read pod ${namespace}/${name}: ${(error as Error).message}`);
    }
  };
}
