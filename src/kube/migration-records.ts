// The run records of one migration plan: a ConfigMap in the data's namespace, one key per plan item, each written
// with a merge patch of its own key so that parallel copies never overwrite each other's records.
import * as k8s from '@kubernetes/client-node';
import { isConflict, isNotFound } from './api-errors.ts';
import { managedByValue, migrationPlanLabel, ownershipLabels } from '../labels.ts';

export function recordsConfigMapName(planId: string): string {
  return `sandbox-storage-migration-${planId}`;
}

export interface MigrationRecordStore {
  /** Every item's record (raw JSON by item key); empty when the plan never ran. */
  read(): Promise<Map<string, string>>;
  write(key: string, record: string): Promise<void>;
}

export function migrationRecordStore(config: k8s.KubeConfig, namespace: string, planId: string): MigrationRecordStore {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const name = recordsConfigMapName(planId);
  return {
    async read() {
      try {
        const map = await core.readNamespacedConfigMap({ namespace, name });
        return new Map(Object.entries(map.data ?? {}));
      } catch (error) {
        if (isNotFound(error)) return new Map();
        throw error;
      }
    },
    async write(key, record) {
      try {
        await core.patchNamespacedConfigMap({ namespace, name, body: { data: { [key]: record } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      } catch (error) {
        if (!isNotFound(error)) throw error;
        try {
          await core.createNamespacedConfigMap({
            namespace,
            body: { metadata: { name, labels: { [ownershipLabels.managedBy]: managedByValue, [migrationPlanLabel]: planId } }, data: { [key]: record } },
          });
        } catch (createError) {
          if (!isConflict(createError)) throw createError;
          await core.patchNamespacedConfigMap({ namespace, name, body: { data: { [key]: record } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
        }
      }
    },
  };
}
