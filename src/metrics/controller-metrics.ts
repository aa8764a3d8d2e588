// Prometheus metrics of the controller, on a registry the caller owns and serves (see metrics-server.ts).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ReconcileResult = 'success' | 'requeue' | 'error' | 'conflict' | 'skipped';
/** succeeded/failed: a preparation Pod finished so; skipped: the sandbox declares no uid to prepare for. */
export type PreparationResult = 'succeeded' | 'failed' | 'skipped';

export interface ControllerMetrics {
  reconciled(result: ReconcileResult, durationSeconds: number): void;
  claimCreated(role: 'workspace' | 'shared'): void;
  claimDeleted(): void;
  /** A PVC of a planned name was found without a valid ownership proof (and refused). */
  unprovenClaim(namespace: string, role: 'workspace' | 'shared'): void;
  error(operation: string): void;
  queueDepth(depth: number): void;
  leader(isLeader: boolean): void;
  gateRemoved(): void;
  preparation(result: PreparationResult): void;
  preparationPodCreated(): void;
  /** A seed-script ConfigMap created or deleted (no Pod references it any more). */
  seedScriptConfigMap(action: 'created' | 'deleted'): void;
  /** Someone else's object holds the seed-script ConfigMap's name (or a Pod mounts a version no longer carried). */
  seedScriptConflict(namespace: string): void;
}

export function controllerMetrics(registry: Registry): ControllerMetrics {
  const reconciles = new Counter({
    name: 'sandbox_storage_reconciles_total',
    help: 'PVC reconciles by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'sandbox_storage_reconcile_duration_seconds',
    help: 'Time to reconcile one PVC key',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const created = new Counter({
    name: 'sandbox_storage_pvcs_created_total',
    help: 'PVCs created by the controller',
    labelNames: ['role'],
    registers: [registry],
  });
  const deleted = new Counter({
    name: 'sandbox_storage_pvcs_deleted_total',
    help: 'Unused workspace PVCs deleted under the retention policy',
    registers: [registry],
  });
  const unproven = new Counter({
    name: 'sandbox_storage_unproven_claims_total',
    help: 'Reconciles that found a PVC of a planned name without a valid ownership proof (never used, adopted or deleted)',
    labelNames: ['namespace', 'role'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'sandbox_storage_errors_total',
    help: 'Failed Kubernetes API operations of the controller',
    labelNames: ['operation'],
    registers: [registry],
  });
  const depth = new Gauge({ name: 'sandbox_storage_queue_depth', help: 'PVC keys waiting to be reconciled', registers: [registry] });
  const leader = new Gauge({
    name: 'sandbox_storage_leader',
    help: '1 while this replica holds the controller lease',
    registers: [registry],
  });
  const gates = new Counter({
    name: 'sandbox_storage_scheduling_gates_removed_total',
    help: 'Scheduling gates removed from Pods whose storage is ready',
    registers: [registry],
  });
  const preparations = new Counter({
    name: 'sandbox_storage_directory_preparations_total',
    help: 'Directory preparations for sandbox identities on shared volumes, by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const preparationPods = new Counter({
    name: 'sandbox_storage_preparation_pods_created_total',
    help: 'Directory-preparation Pods created (retries included)',
    registers: [registry],
  });
  const seedScripts = new Counter({
    name: 'sandbox_storage_seed_script_configmaps_total',
    help: 'Seed-script ConfigMaps created and deleted by the controller',
    labelNames: ['action'],
    registers: [registry],
  });
  const seedScriptConflicts = new Counter({
    name: 'sandbox_storage_seed_script_conflicts_total',
    help: 'Reconciles that found the seed-script ConfigMap unusable (someone else\'s object under its name), by namespace',
    labelNames: ['namespace'],
    registers: [registry],
  });
  leader.set(0);
  depth.set(0);
  return {
    reconciled: (result, seconds) => {
      reconciles.inc({ result });
      latency.observe(seconds);
    },
    claimCreated: (role) => created.inc({ role }),
    claimDeleted: () => deleted.inc(),
    unprovenClaim: (namespace, role) => unproven.inc({ namespace, role }),
    error: (operation) => errors.inc({ operation }),
    queueDepth: (value) => depth.set(value),
    leader: (isLeader) => leader.set(isLeader ? 1 : 0),
    gateRemoved: () => gates.inc(),
    preparation: (result) => preparations.inc({ result }),
    preparationPodCreated: () => preparationPods.inc(),
    seedScriptConfigMap: (action) => seedScripts.inc({ action }),
    seedScriptConflict: (namespace) => seedScriptConflicts.inc({ namespace }),
  };
}

/** For callers that do not export metrics (tests of other parts). */
export const noMetrics: ControllerMetrics = {
  reconciled: () => undefined,
  claimCreated: () => undefined,
  claimDeleted: () => undefined,
  unprovenClaim: () => undefined,
  error: () => undefined,
  queueDepth: () => undefined,
  leader: () => undefined,
  gateRemoved: () => undefined,
  preparation: () => undefined,
  preparationPodCreated: () => undefined,
  seedScriptConfigMap: () => undefined,
  seedScriptConflict: () => undefined,
};
