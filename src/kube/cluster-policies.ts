// One-shot read of the SandboxStoragePolicy objects installed in a cluster (review --from-cluster, policies).
import * as k8s from '@kubernetes/client-node';
import { formatFieldErrors } from '../policy/field-errors.ts';
import { policyGroup, policyNames, policyVersion } from '../policy/schema.ts';
import type { Policy, PolicyStatus } from '../policy/types.ts';
import { validatePolicyDocument } from '../policy/validate.ts';
import { isNotFound } from './api-errors.ts';

export interface InstalledPolicy {
  name: string;
  object: k8s.KubernetesObject & { spec?: any; status?: PolicyStatus };
  policy?: Policy;
  /** Why the object does not validate offline (e.g. stored by an older schema). */
  error?: string;
}

export async function listClusterPolicies(config: k8s.KubeConfig): Promise<InstalledPolicy[]> {
  const objects = config.makeApiClient(k8s.CustomObjectsApi);
  let list: k8s.KubernetesListObject<InstalledPolicy['object']>;
  try {
    list = (await objects.listClusterCustomObject({ group: policyGroup, version: policyVersion, plural: policyNames.plural })) as typeof list;
  } catch (error) {
    if (isNotFound(error)) throw new Error(`the ${policyNames.plural}.${policyGroup} CRD is not installed in this cluster`);
    throw new Error(`cannot list SandboxStoragePolicies: ${(error as Error).message}`);
  }
  return list.items.map((object) => {
    const { status: _status, ...document } = object;
    const result = validatePolicyDocument(document);
    const name = object.metadata?.name ?? '';
    return result.policy ? { name, object, policy: result.policy } : { name, object, error: formatFieldErrors(result.errors) };
  });
}
