// Labels and annotations of the PVCs a Pod names, so the validating webhook can confirm who owns a claim. A claim that does not
// exist has no owner to confirm (404 → left out); any other failure fails the admission closed.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClaimMetadata, ObservedClaimMetadata } from '../admission/isolation/governed-volumes.ts';
import { isNotFound } from './api-errors.ts';
import { apiRequests, resourcePath } from './api-requests.ts';

export type ClaimMetadataLookup = (namespace: string, claimNames: string[]) => Promise<ClaimMetadata>;

export function claimMetadataLookup(config: k8s.KubeConfig, logger: Logger): ClaimMetadataLookup {
  const api = apiRequests(config);
  return async (namespace, claimNames) => {
    const found: Record<string, ObservedClaimMetadata> = {};
    await Promise.all(
      claimNames.map(async (name) => {
        try {
          const claim = await api.json<k8s.V1PersistentVolumeClaim>('GET', resourcePath({ version: 'v1', resource: 'persistentvolumeclaims', namespace, name }));
          found[name] = { labels: claim.metadata?.labels ?? {}, annotations: claim.metadata?.annotations ?? {} };
        } catch (error) {
          if (isNotFound(error)) return;
          logger.warn({ err: error, namespace, claim: name }, 'cannot read PVC metadata');
          throw new Error(`cannot read PVC ${namespace}/${name}: ${(error as Error).message}`);
        }
      }),
    );
    return found;
  };
}
