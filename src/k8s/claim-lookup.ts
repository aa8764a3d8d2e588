// The webhook's view of existing PVCs, read from a watch cache: no API call per admission request.
import type * as k8s from '@kubernetes/client-node';
import type { ClaimLookup } from '../admission/plan-types.ts';
import { observeClaim } from './claims.ts';
import type { WatchedCache } from './informers.ts';

/** Undefined until the cache has synced, so that an empty cache never looks like "no PVC there". */
export function claimLookupFromCache(claims: WatchedCache<k8s.V1PersistentVolumeClaim>): () => ClaimLookup | undefined {
  const lookup: ClaimLookup = (namespace, name) => {
    const claim = claims.cache.get(name, namespace);
    return claim ? observeClaim(claim) : undefined;
  };
  return () => (claims.synced() ? lookup : undefined);
}
