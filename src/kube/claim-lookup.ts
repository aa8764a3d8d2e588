// The webhook's view of existing PVCs, read from a watch cache: no API call per admission request.
import type * as k8s from '@kubernetes/client-node';
import type { ClaimLookup } from '../admission/plan-types.ts';
import { observeClaim } from './claims.ts';
import type { WatchedCache } from './informers.ts';
import { managedByValue, ownershipLabels } from '../labels.ts';

/** Undefined until the cache has synced, so that an empty cache never looks like "no PVC there". */
export function claimLookupFromCache(claims: WatchedCache<k8s.V1PersistentVolumeClaim>): () => ClaimLookup | undefined {
  const lookup: ClaimLookup = {
    get(namespace, name) {
      const claim = claims.cache.get(name, namespace);
      return claim ? observeClaim(claim) : undefined;
    },
    ofUser(namespace, userLabel, user) {
      return claims.cache
        .list(namespace)
        .filter(
          (claim) =>
            claim.metadata?.labels?.[userLabel] === user &&
            claim.metadata?.labels?.[ownershipLabels.managedBy] === managedByValue &&
            claim.metadata?.labels?.[ownershipLabels.identityHash] !== undefined,
        )
        .map(observeClaim);
    },
  };
  return () => (claims.synced() ? lookup : undefined);
}
