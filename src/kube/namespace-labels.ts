// Namespace labels for namespaceSelector decisions, cached briefly so that a burst of Pods costs one GET.
import type * as k8s from '@kubernetes/client-node';
import { apiRequests, resourcePath } from './api-requests.ts';
import type { Logger } from 'pino';
import type { NamespaceLabelLookup } from '../admission/namespace-labels.ts';

export function namespaceLabelLookup(config: k8s.KubeConfig, logger: Logger, ttlMs = 30_000): NamespaceLabelLookup {
  const api = apiRequests(config);
  const cache = new Map<string, { labels: Record<string, string>; expires: number }>();
  return async (namespace) => {
    const cached = cache.get(namespace);
    if (cached && cached.expires > Date.now()) return cached.labels;
    try {
      const found = await api.json<k8s.V1Namespace>('GET', resourcePath({ version: 'v1', resource: 'namespaces', name: namespace }));
      const labels = found.metadata?.labels ?? {};
      cache.set(namespace, { labels, expires: Date.now() + ttlMs });
      return labels;
    } catch (error) {
      // Failing closed: guessing "no labels" could let a sandbox Pod through without its storage.
      logger.warn({ err: error, namespace }, 'cannot read namespace labels');
      throw new Error(`cannot read the labels of namespace ${namespace}: ${(error as Error).message}`);
    }
  };
}
