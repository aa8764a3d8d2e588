// Whether a namespace is being deleted: the namespace controller then deletes everything in it, the seed-script
// ConfigMaps included, and the validating webhook must let it. Read fresh (only such deletes ask), never cached.
import type * as k8s from '@kubernetes/client-node';
import { apiRequests, resourcePath } from './api-requests.ts';
import type { Logger } from 'pino';

export function namespaceTerminatingLookup(config: k8s.KubeConfig, logger: Logger): (namespace: string) => Promise<boolean> {
  const api = apiRequests(config);
  return async (namespace) => {
    try {
      const found = await api.json<k8s.V1Namespace>('GET', resourcePath({ version: 'v1', resource: 'namespaces', name: namespace }));
      return found.status?.phase === 'Terminating' || Boolean(found.metadata?.deletionTimestamp);
    } catch (error) {
      // Failing closed: the delete is refused and the namespace controller retries.
      logger.warn({ err: error, namespace }, 'cannot read namespace phase');
      return false;
    }
  };
}
