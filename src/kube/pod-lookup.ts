// Reads the Pod a CONNECT request (exec, attach, portforward) goes to: the request itself carries only the options.
// The typed client object uses the API's own field names for everything the isolation rules read.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isNotFound } from './api-errors.ts';

export type PodLookup = (namespace: string, name: string) => Promise<unknown>;

export function podLookup(config: k8s.KubeConfig, logger: Logger): PodLookup {
  const core = config.makeApiClient(k8s.CoreV1Api);
  return async (namespace, name) => {
    try {
      return await core.readNamespacedPod({ name, namespace });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      logger.warn({ err: error, namespace, pod: name }, 'cannot read pod');
      throw new Error(`cannot read pod ${namespace}/${name}: ${(error as Error).message}`);
    }
  };
}
