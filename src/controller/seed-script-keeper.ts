// Keeps the seed-script ConfigMap (configMap delivery) in every namespace whose sandbox Pods mount it: created before
// their scheduling gate is lifted, never adopted when someone else's object has the name, and deleted once no Pod
// references that version. References come from the controller's Pod watch, so no reconcile lists Pods.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { seedScriptConfigMapBody, seedScriptConfigMapProblem } from '../admission/seed-script-configmap.ts';
import { seedScriptConfigMapName, seedScriptConfigMapPrefix, seedScriptVolumeName } from '../admission/seed-script-delivery.ts';
import { apiErrorMessage } from '../kube/api-errors.ts';
import { eventReasons, podTarget, type EventRecorder } from '../kube/events.ts';
import type { SeedScriptConfigMapClient } from '../kube/seed-script-configmaps.ts';
import type { ControllerMetrics } from '../metrics/controller-metrics.ts';
import { podKey } from './pod-claims.ts';

export interface SeedScriptKeeperDependencies {
  configMaps: SeedScriptConfigMapClient;
  events: EventRecorder;
  metrics: ControllerMetrics;
  logger: Logger;
}

/** The seed-script ConfigMap a Pod mounts in the seed volume (configMap delivery), if any. */
export function seedScriptConfigMapOf(pod: k8s.V1Pod): string | undefined {
  const name = pod.spec?.volumes?.find((volume) => volume.name === seedScriptVolumeName)?.configMap?.name;
  return name?.startsWith(seedScriptConfigMapPrefix) ? name : undefined;
}

/** A conflict stays until someone removes the object in the way: look again after this long. */
const conflictRecheckMs = 30_000;

export class SeedScriptKeeper {
  private readonly deps: SeedScriptKeeperDependencies;
  /** "namespace/name" of a ConfigMap → keys of the live Pods that mount it. */
  private readonly references = new Map<string, Set<string>>();
  private readonly referenceOf = new Map<string, string>();
  /** ConfigMaps known to exist and to be ours: no API call per reconcile. Forgotten on delete and on every resync. */
  private readonly present = new Set<string>();
  private collecting: Promise<void> = Promise.resolve();
  /**
   * Checks in flight, by ConfigMap: the first Pods of a namespace arrive together, and each of the 32 workers
   * would otherwise read the missing ConfigMap and try to create it (one create, 31 conflicts, 31 reads again).
   */
  private readonly checking = new Map<string, Promise<string | undefined>>();

  constructor(deps: SeedScriptKeeperDependencies) {
    this.deps = deps;
  }

  /** A Pod event of the controller's watch: which ConfigMap it references now (none once deleted or deleting). */
  track(pod: k8s.V1Pod, deleted: boolean): void {
    const key = podKey(pod);
    const name = deleted || pod.metadata?.deletionTimestamp ? undefined : seedScriptConfigMapOf(pod);
    const next = name === undefined ? undefined : `${pod.metadata?.namespace ?? ''}/${name}`;
    const previous = this.referenceOf.get(key);
    if (previous === next) return;
    if (previous !== undefined) {
      const pods = this.references.get(previous);
      pods?.delete(key);
      if (pods?.size === 0) {
        this.references.delete(previous);
        this.collectLater(previous);
      }
    }
    if (next === undefined) {
      this.referenceOf.delete(key);
      return;
    }
    this.referenceOf.set(key, next);
    let pods = this.references.get(next);
    if (!pods) this.references.set(next, (pods = new Set()));
    pods.add(key);
  }

  /** The Pods whose seed-script ConfigMap (if they mount one) exists and is ours; the others get a Warning Event. */
  async ready(pods: k8s.V1Pod[]): Promise<{ ready: k8s.V1Pod[]; requeueAfterMs?: number }> {
    const ready: k8s.V1Pod[] = [];
    const byReference = new Map<string, k8s.V1Pod[]>();
    for (const pod of pods) {
      const name = seedScriptConfigMapOf(pod);
      if (name === undefined) {
        ready.push(pod);
        continue;
      }
      const reference = `${pod.metadata?.namespace ?? ''}/${name}`;
      const group = byReference.get(reference);
      if (group) group.push(pod);
      else byReference.set(reference, [pod]);
    }
    let requeueAfterMs: number | undefined;
    for (const [reference, group] of byReference) {
      const slash = reference.indexOf('/');
      const problem = await this.ensure(reference.slice(0, slash), reference.slice(slash + 1));
      if (problem === undefined) {
        ready.push(...group);
        continue;
      }
      this.deps.metrics.seedScriptConflict(reference.slice(0, slash));
      for (const pod of group) this.deps.events.warning(podTarget(pod), eventReasons.seedScriptConflict, problem);
      this.deps.logger.warn({ configMap: reference, problem, pods: group.map((pod) => pod.metadata?.name) }, 'seed-script ConfigMap not usable; pods stay gated');
      requeueAfterMs = conflictRecheckMs;
    }
    return requeueAfterMs === undefined ? { ready } : { ready, requeueAfterMs };
  }

  /**
   * Periodic: forgets what it knew (a ConfigMap deleted behind its back is created again for the next Pods), makes
   * the ConfigMaps that Pods reference exist, and deletes the labelled ones of ours that no Pod references.
   */
  async resync(): Promise<void> {
    this.present.clear();
    for (const reference of this.references.keys()) {
      const slash = reference.indexOf('/');
      const problem = await this.ensure(reference.slice(0, slash), reference.slice(slash + 1)).catch((error: unknown) => apiErrorMessage(error));
      if (problem !== undefined) this.deps.logger.warn({ configMap: reference, problem }, 'seed-script ConfigMap not usable');
    }
    for (const configMap of await this.deps.configMaps.listLabelled()) {
      const reference = `${configMap.metadata?.namespace ?? ''}/${configMap.metadata?.name ?? ''}`;
      if (!this.references.has(reference)) await this.collect(reference);
    }
  }

  /** Waits for the deletions scheduled so far (tests, shutdown). */
  settled(): Promise<void> {
    return this.collecting;
  }

  /** Undefined when the ConfigMap exists and is ours (created now if missing); otherwise why the Pods must wait. */
  private async ensure(namespace: string, name: string): Promise<string | undefined> {
    const reference = `${namespace}/${name}`;
    // A delete of an unused version may be in flight: had it been seen as present, it would vanish after the gate
    // was lifted (a Pod deleted and recreated at once), and the new Pod would wait for a mount until the resync.
    await this.collecting;
    if (this.present.has(reference)) return undefined;
    const inFlight = this.checking.get(reference);
    if (inFlight) return inFlight;
    const check = this.check(namespace, name);
    this.checking.set(reference, check);
    try {
      return await check;
    } finally {
      this.checking.delete(reference);
    }
  }

  private async check(namespace: string, name: string): Promise<string | undefined> {
    const reference = `${namespace}/${name}`;
    const { configMaps, logger, metrics } = this.deps;
    let live = await configMaps.get(namespace, name);
    if (!live) {
      // Only the version this controller carries can be created; an older Pod's version is gone for good.
      if (name !== seedScriptConfigMapName()) {
        return `the pod mounts seed-script ConfigMap ${name}, a script version this controller does not carry (it creates ${seedScriptConfigMapName()}); delete and recreate the pod`;
      }
      const created = await configMaps.create(seedScriptConfigMapBody(namespace)).catch((error: unknown) => {
        metrics.error('create_configmap');
        throw new Error(`cannot create seed-script ConfigMap ${name}: ${apiErrorMessage(error)}`, { cause: error });
      });
      if (created === 'exists') {
        live = await configMaps.get(namespace, name);
      } else {
        live = created;
        metrics.seedScriptConfigMap('created');
        logger.info({ configMap: reference }, 'seed-script ConfigMap created');
      }
      if (!live) return `seed-script ConfigMap ${name} was created and is gone again; retrying`;
    }
    const problem = seedScriptConfigMapProblem(live);
    if (problem !== undefined) {
      return `ConfigMap ${name} exists but is not sandbox-storage's seed script (${problem}); it is never used, adopted or replaced: the pod stays gated until it is deleted, then the controller creates its own`;
    }
    if (live.metadata?.deletionTimestamp) return `seed-script ConfigMap ${name} is being deleted; retrying`;
    this.present.add(reference);
    return undefined;
  }

  private collectLater(reference: string): void {
    this.collecting = this.collecting
      .then(() => this.collect(reference))
      .catch((error: unknown) => this.deps.logger.warn({ configMap: reference, err: apiErrorMessage(error) }, 'cannot delete unused seed-script ConfigMap; the next resync tries again'));
  }

  /** Deletes the ConfigMap if it is ours and still no Pod references it; never anything else under the name. */
  private async collect(reference: string): Promise<void> {
    if (this.references.has(reference)) return;
    // Forgotten whatever happens next: it may be gone with its namespace, and a namespace of that name may come back.
    this.present.delete(reference);
    const slash = reference.indexOf('/');
    const namespace = reference.slice(0, slash);
    const name = reference.slice(slash + 1);
    const live = await this.deps.configMaps.get(namespace, name);
    if (!live || live.metadata?.deletionTimestamp || seedScriptConfigMapProblem(live) !== undefined) return;
    // Asked again after the read: a Pod may have arrived meanwhile.
    if (this.references.has(reference)) return;
    const result = await this.deps.configMaps.delete(namespace, name, { uid: live.metadata?.uid ?? '', resourceVersion: live.metadata?.resourceVersion ?? '' });
    if (result === 'deleted') {
      this.deps.metrics.seedScriptConfigMap('deleted');
      this.deps.logger.info({ configMap: reference }, 'seed-script ConfigMap deleted: no pod references it');
    }
  }
}
