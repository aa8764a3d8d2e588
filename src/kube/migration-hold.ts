// Writes a migration's hold on its target SandboxStoragePolicy: one annotation per plan, set and removed with a
// merge patch of that key alone, so other plans' holds and every other field stay as they are.
import * as k8s from '@kubernetes/client-node';
import { migrationHoldKey } from '../policy/migration-hold.ts';
import { policyGroup, policyNames, policyVersion } from '../policy/schema.ts';

export interface MigrationHoldWriter {
  /** Sets the hold to `value` (src/policy/migration-hold.ts), or removes it when undefined. */
  set(value: string | undefined): Promise<void>;
  /** The hold as the policy carries it now, if any. */
  read(): Promise<string | undefined>;
}

export function migrationHoldWriter(config: k8s.KubeConfig, policy: string, plan: string): MigrationHoldWriter {
  const objects = config.makeApiClient(k8s.CustomObjectsApi);
  const target = { group: policyGroup, version: policyVersion, plural: policyNames.plural, name: policy };
  const key = migrationHoldKey(plan);
  return {
    async set(value) {
      await objects.patchClusterCustomObject(
        { ...target, body: { metadata: { annotations: { [key]: value ?? null } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    },
    async read() {
      const object = (await objects.getClusterCustomObject(target)) as k8s.KubernetesObject;
      return object.metadata?.annotations?.[key];
    },
  };
}
