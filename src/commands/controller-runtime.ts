// Wiring of the leader-elected PVC controller, shared by `controller` and `run`: metrics listener, PVC watch,
// Lease campaign, and per leadership term a Pod watch + work queue. Stop order on SIGTERM: finish in-flight
// reconciles, release the Lease, close the watches.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { eventRecorder } from '../kube/events.ts';
import { LeaderElector } from '../controller/leader-election.ts';
import { controllerPodView } from '../controller/pod-view.ts';
import { createPvcController, type PvcController } from '../controller/pvc-controller.ts';
import { claimClient, claimEventMessages } from '../kube/claims.ts';
import { watchPods, type WatchedCache } from '../kube/informers.ts';
import { leaseClient } from '../kube/leases.ts';
import { ownershipKeySource, type OwnershipKeySource } from '../kube/ownership-key.ts';
import { podClient } from '../kube/pods.ts';
import { seedScriptConfigMapClient } from '../kube/seed-script-configmaps.ts';
import { preparationPodClient, watchPreparationPods } from '../kube/preparation-pods.ts';
import { controllerMetrics } from '../metrics/controller-metrics.ts';
import type { Policy } from '../policy/types.ts';
import type { ControllerConfig } from './controller-options.ts';

export interface ControllerRuntime {
  isLeader(): boolean;
  stop(): Promise<void>;
}

export function startControllerRuntime(options: {
  config: ControllerConfig;
  kubeConfig: k8s.KubeConfig;
  policies: () => readonly Policy[];
  claims: WatchedCache<k8s.V1PersistentVolumeClaim>;
  registry: Registry;
  logger: Logger;
  /** Reconciling waits for this (run: the webhook stack's policies are loaded); leadership is held meanwhile. */
  ready?: Promise<void>;
  /** The ownership key (run: shared with the webhooks); without it one is read or created from the flags' Secret. */
  ownershipKey?: OwnershipKeySource;
}): ControllerRuntime {
  const { config, kubeConfig, policies, claims, registry, logger } = options;
  const metrics = controllerMetrics(registry);
  const ownedKey = options.ownershipKey
    ? undefined
    : ownershipKeySource({ kubeConfig, namespace: config.ownershipKeyNamespace, secretName: config.ownershipKeySecret, logger });
  const key = (options.ownershipKey ?? ownedKey) as OwnershipKeySource;
  const reconciler = {
    ownershipKey: () => key.ensure(),
    claims: claimClient(kubeConfig),
    pods: podClient(kubeConfig),
    events: eventRecorder(kubeConfig, logger, config.identity),
    claimEventMessage: claimEventMessages(kubeConfig),
  };
  const preparationClient = preparationPodClient(kubeConfig);
  const seedScriptConfigMaps = seedScriptConfigMapClient(kubeConfig);
  let term: { controller: PvcController; pods: WatchedCache<k8s.V1Pod>; preparationPods: WatchedCache<k8s.V1Pod> } | undefined;
  const lead = async () => {
    await options.ready;
    const pods = watchPods(kubeConfig, config.podSelector, logger, controllerPodView);
    const preparationPods = watchPreparationPods(kubeConfig, config.preparationNamespace, logger);
    const controller = createPvcController({
      policies,
      pods,
      claims,
      reconciler,
      logger,
      metrics,
      workers: config.workers,
      resyncMs: config.resyncMs,
      seedScriptConfigMaps,
      preparation: {
        client: preparationClient,
        defaultNamespace: config.preparationNamespace,
        defaultImage: config.preparationImage,
        pods: preparationPods,
      },
    });
    term = { controller, pods, preparationPods };
    await controller.start();
  };
  const stepDown = async () => {
    const current = term;
    term = undefined;
    if (!current) return;
    await current.controller.stop();
    await Promise.all([current.pods.stop(), current.preparationPods.stop()]);
  };

  const stop = new AbortController();
  let leader = false;
  let done: Promise<void>;
  if (config.leaderElect) {
    const elector = new LeaderElector({
      leases: leaseClient(kubeConfig),
      namespace: config.leaseNamespace,
      name: config.leaseName,
      identity: config.identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      logger,
      onLeaderChange: (isLeader) => {
        leader = isLeader;
        metrics.leader(isLeader);
      },
    });
    done = elector.run({ onStartedLeading: lead, onStoppedLeading: stepDown }, stop.signal);
  } else {
    leader = true;
    metrics.leader(true);
    done = lead();
  }
  done.catch((error: unknown) => logger.error({ err: error }, 'controller failed'));
  return {
    isLeader: () => leader,
    async stop() {
      stop.abort();
      await done.catch(() => undefined);
      if (!config.leaderElect) await stepDown();
      ownedKey?.stop();
    },
  };
}
