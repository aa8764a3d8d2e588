// Thin wrapper over the coordination.k8s.io/v1 Lease calls of leader election.
import type * as k8s from '@kubernetes/client-node';
import { isConflict, isNotFound } from './api-errors.ts';
import { apiRequests, resourcePath } from './api-requests.ts';

const leasePath = (namespace: string, name?: string) =>
  resourcePath({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace, name });

export interface LeaseClient {
  get(namespace: string, name: string): Promise<k8s.V1Lease | undefined>;
  /** false when another replica created it first (409). */
  create(lease: k8s.V1Lease): Promise<boolean>;
  /** Optimistic update guarded by metadata.resourceVersion; false when someone else wrote it first (409). */
  replace(lease: k8s.V1Lease): Promise<boolean>;
}

export function leaseClient(config: k8s.KubeConfig): LeaseClient {
  const api = apiRequests(config);
  return {
    async get(namespace, name) {
      try {
        return await api.json<k8s.V1Lease>('GET', leasePath(namespace, name));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async create(lease) {
      try {
        await api.send('POST', leasePath(lease.metadata?.namespace ?? ''), { body: lease });
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    },
    async replace(lease) {
      try {
        await api.send('PUT', leasePath(lease.metadata?.namespace ?? '', lease.metadata?.name ?? ''), { body: lease });
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    },
  };
}
