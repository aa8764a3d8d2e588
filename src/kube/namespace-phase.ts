// Whether a namespace is being deleted: the namespace controller then deletes everything in it, the seed-script
// ConfigMaps included, and the validating webhook must let it. Read fresh (only such deletes ask), never cached.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';

export function namespaceTerminatingLookup(config: k8s.KubeConfig, logger: Logger): (namespace: string) => Promise<boolean> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  return async (namespace) => {
    try {
      const found = await core.readNamespace({ name: namespace });
      return found.status?.phase === 'Terminating' || Boolean(found.metadata?.deletionTimestamp);
    } catch (error) {
      // Failing closed: the delete is refused and the namespace controller retries.
      logger.warn({ err: error, namespace }, 'cannot read namespace phase');
      return false;
    }
  };
}
