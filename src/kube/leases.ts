// Thin wrapper over the coordination.k8s.io/v1 Lease calls of leader election.
import * as k8s from '@kubernetes/client-node';
import { isConflict, isNotFound } from './api-errors.ts';

export interface LeaseClient {
  get(namespace: string, name: string): Promise<k8s.V1Lease | undefined>;
  /** false when another replica created it first (409). */
  create(lease: k8s.V1Lease): Promise<boolean>;
  /** Optimistic update guarded by metadata.resourceVersion; false when someone else wrote it first (409). */
  replace(lease: k8s.V1Lease): Promise<boolean>;
}

export function leaseClient(config: k8s.KubeConfig): LeaseClient {
  const coordination = config.makeApiClient(k8s.CoordinationV1Api);
  return {
    async get(namespace, name) {
      try {
        return await coordination.readNamespacedLease({ namespace, name });
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async create(lease) {
      try {
        await coordination.createNamespacedLease({ namespace: lease.metadata?.namespace ?? '', body: lease });
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    },
    async replace(lease) {
      try {
        await coordination.replaceNamespacedLease({
          namespace: lease.metadata?.namespace ?? '',
          name: lease.metadata?.name ?? '',
          body: lease,
        });
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    },
  };
}
