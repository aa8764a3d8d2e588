// Wiring of the PVC controller: Pod and PVC watches feed a work queue keyed by PVC (100 Pods of one user are one
// reconcile), a few workers run the reconciler, and a periodic resync re-checks everything in the caches.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiErrorMessage } from '../kube/api-errors.ts';
import type { WatchedCache } from '../kube/informers.ts';
import type { PreparationPodClient } from '../kube/preparation-pods.ts';
import type { ControllerMetrics } from '../metrics/controller-metrics.ts';
import type { Policy } from '../policy/types.ts';
import { hasStorageGate } from '../admission/scheduling-gate.ts';
import { ClaimReconciler, type ReconcilerDependencies } from './claim-reconciler.ts';
import { eventReasons, podTarget } from '../kube/events.ts';
import { PreparationReconciler } from './preparation-reconciler.ts';
import { parseSeedReport, seedReportEvent, seedTerminationMessage } from './seed-report.ts';
import { SeedScriptKeeper } from './seed-script-keeper.ts';
import type { SeedScriptConfigMapClient } from '../kube/seed-script-configmaps.ts';
import { claimKey, podChangeMatters, podKey, splitKey } from './pod-claims.ts';
import { PlanMemo } from './plan-memo.ts';
import { WorkQueue } from './work-queue.ts';
import { managedByValue, ownershipLabels, preparationLabel, preparationWorkKeyAnnotation } from '../labels.ts';

export interface PvcControllerOptions {
  /** The policies in force now (they may be reloaded while the controller runs). */
  policies: () => readonly Policy[];
  /**
   * Called with a listener to run whenever the policies change: a migration hold that goes away is acted on at once.
   * What it returns, if anything, is called on stop to unregister it (a controller is made per leadership term).
   */
  onPoliciesChange?: (listener: () => void) => (() => void) | void;
  pods: WatchedCache<k8s.V1Pod>;
  claims: WatchedCache<k8s.V1PersistentVolumeClaim>;
  reconciler: Omit<ReconcilerDependencies, 'logger' | 'metrics'>;
  logger: Logger;
  metrics: ControllerMetrics;
  workers?: number;
  resyncMs?: number;
  /** Directory preparation (spec.shared.preparation); without it, Pods of policies that prepare stay gated. */
  preparation?: PreparationOptions;
  /** The seed-script ConfigMaps (configMap delivery); without them, Pods are released without checking theirs. */
  seedScriptConfigMaps?: SeedScriptConfigMapClient;
}

export interface PreparationOptions {
  client: PreparationPodClient;
  /** The controller's own namespace: where preparation Pods run unless a policy names another. */
  defaultNamespace: string;
  /** `--preparation-image`; '' when not configured. */
  defaultImage: string;
  /** A watch of the preparation Pods in defaultNamespace: their changes wake the waiting key up. */
  pods?: WatchedCache<k8s.V1Pod>;
  retryBaseMs?: number;
}

export interface PvcController {
  /** Waits for both caches, then starts the workers. */
  start(): Promise<void>;
  /** Stops taking work and waits for reconciles in flight. */
  stop(): Promise<void>;
  /** Keys waiting plus in flight, for tests and metrics. */
  pending(): number;
}

export function createPvcController(options: PvcControllerOptions): PvcController {
  const { policies, pods, claims, logger, metrics } = options;
  const queue = new WorkQueue();
  const preparationOptions = options.preparation;
  const preparationPods = preparationOptions?.pods;
  const preparation = preparationOptions
    ? new PreparationReconciler({
        client: preparationOptions.client,
        events: options.reconciler.events,
        metrics,
        logger,
        defaultNamespace: preparationOptions.defaultNamespace,
        defaultImage: preparationOptions.defaultImage,
        ...(preparationOptions.retryBaseMs !== undefined ? { retryBaseMs: preparationOptions.retryBaseMs } : {}),
        cachedPod: (namespace, name) =>
          preparationPods?.synced() && namespace === preparationOptions.defaultNamespace
            ? { pod: preparationPods.cache.get(name, namespace) }
            : undefined,
      })
    : undefined;
  const seedScripts = options.seedScriptConfigMaps
    ? new SeedScriptKeeper({ configMaps: options.seedScriptConfigMaps, events: options.reconciler.events, metrics, logger })
    : undefined;
  const resyncSeedScripts = () =>
    seedScripts?.resync().catch((error: unknown) => logger.warn({ err: apiErrorMessage(error) }, 'seed-script ConfigMap resync failed'));
  const reconciler = new ClaimReconciler({
    cachedClaim: (namespace, name) => (claims.synced() ? { claim: claims.cache.get(name, namespace) } : undefined),
    ...options.reconciler,
    ...(preparation ? { preparation } : {}),
    ...(seedScripts ? { seedScripts } : {}),
    logger,
    metrics,
  });
  /** claim key → keys of the Pods that mount it; kept from the watch events, so no reconcile scans all Pods. */
  const podsByClaim = new Map<string, Set<string>>();
  const claimsByPod = new Map<string, string[]>();
  const reported = new Set<string>();
  const plans = new PlanMemo();
  let running = false;
  let stopped = false;

  const enqueue = (key: string) => {
    queue.add(key);
    metrics.queueDepth(queue.depth);
  };

  const indexPod = (pod: k8s.V1Pod, deleted: boolean) => {
    seedScripts?.track(pod, deleted);
    const key = podKey(pod);
    const known = claimsByPod.has(key);
    const previous = claimsByPod.get(key) ?? [];
    let next: string[] = [];
    if (!deleted) {
      const planned = plans.plan(pod, policies());
      if (planned.problem && !reported.has(key)) {
        reported.add(key);
        logger.warn({ pod: key, problem: planned.problem }, 'cannot plan storage for pod');
        // A gated Pod that cannot be planned would wait silently: say why on the Pod.
        if (hasStorageGate(pod)) {
          options.reconciler.events.warning(
            podTarget(pod),
            eventReasons.failed,
            `cannot plan storage for this pod: ${planned.problem}`,
          );
        }
      }
      next = planned.claims.map((claim) => claimKey(claim.namespace, claim.name));
    } else {
      reported.delete(key);
      plans.forget(pod);
    }
    for (const old of previous) {
      if (!next.includes(old)) podsByClaim.get(old)?.delete(key);
    }
    for (const claim of next) {
      let set = podsByClaim.get(claim);
      if (!set) podsByClaim.set(claim, (set = new Set()));
      set.add(key);
    }
    if (next.length > 0) claimsByPod.set(key, next);
    else claimsByPod.delete(key);
    if (!podChangeMatters(pod, { known, deleted, previous, next })) return;
    for (const claim of new Set([...previous, ...next])) {
      if (podsByClaim.get(claim)?.size === 0) podsByClaim.delete(claim);
      if (running) enqueue(claim);
    }
  };

  // The seeder's report becomes one Event per Pod (per controller run: a new leader may repeat it once).
  const seedReported = new Set<string>();
  const reportSeed = (pod: k8s.V1Pod) => {
    const uid = pod.metadata?.uid ?? podKey(pod);
    const message = seedTerminationMessage(pod);
    if (message === undefined || seedReported.has(uid)) return;
    const report = parseSeedReport(message);
    if (!report) return;
    seedReported.add(uid);
    const event = seedReportEvent(report);
    if (event.type === 'Warning') options.reconciler.events.warning(podTarget(pod), eventReasons.seedConflicts, event.message);
    else options.reconciler.events.normal(podTarget(pod), eventReasons.seedConflicts, event.message);
  };
  const onPod = (pod: k8s.V1Pod) => {
    reconciler.observePod(pod);
    indexPod(pod, false);
    if (running) reportSeed(pod);
  };
  const onPodDeleted = (pod: k8s.V1Pod) => {
    reconciler.observePod(pod, true);
    indexPod(pod, true);
    seedReported.delete(pod.metadata?.uid ?? podKey(pod));
  };
  // Managed workspace PVCs are watched even without Pods: retention acts on exactly those.
  const isManagedWorkspace = (claim: k8s.V1PersistentVolumeClaim) =>
    claim.metadata?.labels?.[ownershipLabels.managedBy] === managedByValue &&
    claim.metadata?.labels?.[ownershipLabels.identityHash] !== undefined;
  const enqueueClaim = (claim: k8s.V1PersistentVolumeClaim) => {
    const key = claimKey(claim.metadata?.namespace ?? '', claim.metadata?.name ?? '');
    if (running && (podsByClaim.has(key) || isManagedWorkspace(claim))) enqueue(key);
  };
  const onClaim = (claim: k8s.V1PersistentVolumeClaim) => {
    // The ADDED event of a PVC we just created would be one more reconcile per new Pod, for nothing.
    if (!reconciler.isOwnCreation(claim)) enqueueClaim(claim);
  };
  const onClaimDeleted = (claim: k8s.V1PersistentVolumeClaim) => {
    reconciler.isOwnCreation(claim); // ends the expectation of a created PVC that is gone already
    enqueueClaim(claim);
  };
  /** The cached Pods of a work key that are not being deleted. */
  const livePodsOf = (key: string): k8s.V1Pod[] => {
    const live: k8s.V1Pod[] = [];
    for (const member of podsByClaim.get(key) ?? []) {
      const { namespace, name } = splitKey(member);
      const pod = pods.cache.get(name, namespace);
      if (pod && !pod.metadata?.deletionTimestamp) live.push(pod);
    }
    return live;
  };
  /** The policy in force that a Pod was admitted under (its annotation names it), if it is still there. */
  const admittedPolicy = (pod: k8s.V1Pod, current: readonly Policy[]) =>
    current.find((candidate) => candidate.name === pod.metadata?.annotations?.[ownershipLabels.policy]);
  /** Whether a live sandbox Pod of this work key still waits behind its gate for the preparation `target`. */
  const awaitsPreparation = (key: string, target: string) => {
    const current = policies();
    return livePodsOf(key).some((pod) => {
      if (!hasStorageGate(pod)) return false;
      const policy = admittedPolicy(pod, current);
      // A Pod whose policy is unknown now cannot be judged: keep the preparation Pod for it.
      return policy === undefined || preparation?.needs(pod, policy, target) === true;
    });
  };
  // A finished preparation Pod whose sandbox Pods all went away meanwhile has nobody to collect it: remove it, so
  // the controller's namespace does not fill up with them. (One that is still needed is deleted by the reconcile.)
  const removeIfAbandoned = (pod: k8s.V1Pod) => {
    const phase = pod.status?.phase;
    if (!preparationOptions || (phase !== 'Succeeded' && phase !== 'Failed') || pod.metadata?.deletionTimestamp) return;
    const key = pod.metadata?.annotations?.[preparationWorkKeyAnnotation];
    const target = pod.metadata?.labels?.[preparationLabel];
    if (key !== undefined && target !== undefined && awaitsPreparation(key, target)) return;
    const where = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    preparationOptions.client.delete(pod).then(
      () => logger.info({ preparation: where, phase }, 'abandoned preparation pod deleted'),
      (error: unknown) => logger.warn({ preparation: where, err: apiErrorMessage(error) }, 'cannot delete abandoned preparation pod'),
    );
  };
  // A preparation Pod changed (running, finished, deleted): reconcile the key whose Pods wait for it.
  const wakeWaitingKey = (pod: k8s.V1Pod) => {
    const key = pod.metadata?.annotations?.[preparationWorkKeyAnnotation];
    if (running && key !== undefined && podsByClaim.has(key)) enqueue(key);
  };
  const onPreparationPod = (pod: k8s.V1Pod) => {
    wakeWaitingKey(pod);
    if (running) removeIfAbandoned(pod);
  };
  const allKeys = () => {
    const keys = new Set(podsByClaim.keys());
    for (const claim of claims.cache.list()) {
      if (isManagedWorkspace(claim)) keys.add(claimKey(claim.metadata?.namespace ?? '', claim.metadata?.name ?? ''));
    }
    return keys;
  };

  const usersOf = (key: string) => {
    const livePods = livePodsOf(key);
    const { name } = splitKey(key);
    for (const pod of livePods) {
      const planned = plans.plan(pod, policies());
      const plan = planned.claims.find((claim) => claim.name === name);
      if (plan && planned.policy) {
        const current = policies();
        const policyOf = (member: k8s.V1Pod) => admittedPolicy(member, current);
        return { pods: livePods, plan, policy: planned.policy, policyOf };
      }
    }
    return undefined;
  };

  const work = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      metrics.queueDepth(queue.depth);
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const users = usersOf(key);
        const { namespace, name } = splitKey(key);
        const outcome = users
          ? await reconciler.reconcile(users)
          : await reconciler.reconcileUnused(namespace, name, policies(), () => usersOf(key) === undefined);
        metrics.reconciled(outcome.result, seconds());
        queue.forget(key);
        if (outcome.requeueAfterMs !== undefined) queue.addAfter(key, outcome.requeueAfterMs);
      } catch (error) {
        metrics.reconciled('error', seconds());
        const retryInMs = queue.addRateLimited(key);
        logger.warn({ pvc: key, err: apiErrorMessage(error), retryInMs }, 'reconcile failed; retrying');
      } finally {
        queue.done(key);
      }
    }
  };

  // A migration hold came or went: reconcile the keys of that policy's Pods now, not at the next resync.
  let holdsSeen = new Map<string, string>();
  const holdsOf = () => new Map(policies().map((policy) => [policy.name, JSON.stringify(policy.holds ?? [])]));
  const onPolicies = () => {
    const now = holdsOf();
    const changed = new Set([...now].filter(([name, holds]) => holdsSeen.get(name) !== holds).map(([name]) => name));
    for (const name of holdsSeen.keys()) if (!now.has(name)) changed.add(name);
    holdsSeen = now;
    if (!running || changed.size === 0) return;
    for (const [member, keys] of claimsByPod) {
      const { namespace, name } = splitKey(member);
      const policy = pods.cache.get(name, namespace)?.metadata?.annotations?.[ownershipLabels.policy];
      if (policy !== undefined && changed.has(policy)) for (const key of keys) enqueue(key);
    }
  };
  holdsSeen = holdsOf();
  const unsubscribePolicies = options.onPoliciesChange?.(onPolicies);

  // Every watch handler, so that stop() removes exactly what start() added.
  const subscribe = <T extends k8s.KubernetesObject>(cache: WatchedCache<T>, onChange: (object: T) => void, onDelete: (object: T) => void) =>
    (method: 'on' | 'off') => {
      cache.informer[method]('add', onChange);
      cache.informer[method]('update', onChange);
      cache.informer[method]('delete', onDelete);
    };
  const subscriptions = [subscribe(pods, onPod, onPodDeleted), subscribe(claims, onClaim, onClaimDeleted)];
  if (preparationPods) subscriptions.push(subscribe(preparationPods, onPreparationPod, wakeWaitingKey));

  let workers: Promise<void>[] = [];
  let resyncTimer: NodeJS.Timeout | undefined;
  return {
    async start() {
      for (const toggle of subscriptions) toggle('on');
      // Not awaited: until it has synced, preparation Pods are read from the API.
      if (preparationPods) void preparationPods.start();
      await Promise.all([pods.start(), claims.start()]);
      // Leadership may have ended while the caches were syncing: then there is nothing to start.
      if (stopped) return;
      // Index what the first list brought, then hand every known PVC key to the workers.
      for (const pod of pods.cache.list()) indexPod(pod, false);
      running = true;
      for (const pod of pods.cache.list()) reportSeed(pod);
      for (const key of allKeys()) enqueue(key);
      // Every Pod is indexed: a ConfigMap no Pod references now is unused.
      void resyncSeedScripts();
      workers = Array.from({ length: options.workers ?? 32 }, () => work());
      resyncTimer = setInterval(() => {
        for (const key of allKeys()) enqueue(key);
        void resyncSeedScripts();
        if (preparationPods?.synced()) for (const pod of preparationPods.cache.list()) removeIfAbandoned(pod);
      }, options.resyncMs ?? 5 * 60_000);
      resyncTimer.unref();
      logger.info({ pods: claimsByPod.size, claims: podsByClaim.size }, 'PVC controller started');
    },
    async stop() {
      stopped = true;
      running = false;
      clearInterval(resyncTimer);
      for (const toggle of subscriptions) toggle('off');
      unsubscribePolicies?.();
      queue.shutDown();
      await Promise.all(workers);
      await seedScripts?.settled();
      metrics.queueDepth(0);
      logger.info('PVC controller stopped');
    },
    pending: () => queue.depth + queue.inProgress,
  };
}
