// The PVC controller as a leader-only part of the manager (controller, run): per leadership term a Pod watch, a
// preparation-Pod watch and the work queue over them. Stopping finishes in-flight reconciles, then closes the
// term's watches (the PVC watch is the manager's, shared with the webhooks).
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { sharingPodView } from '../controller/pod-view.ts';
import { createPvcController, type PvcController } from '../controller/pvc-controller.ts';
import { claimClient, claimEventMessages } from '../kube/claims.ts';
import { eventRecorder } from '../kube/events.ts';
import { watchPods, type WatchedCache } from '../kube/informers.ts';
import type { OwnershipKeySource } from '../kube/ownership-key.ts';
import { podClient } from '../kube/pods.ts';
import { preparationPodClient, watchPreparationPods } from '../kube/preparation-pods.ts';
import { seedScriptConfigMapClient } from '../kube/seed-script-configmaps.ts';
import type { ControllerMetrics } from '../metrics/controller-metrics.ts';
import type { Policy } from '../policy/types.ts';
import type { ControllerConfig } from './controller-options.ts';
import type { Part } from './parts.ts';

export function controllerPart(options: {
  config: ControllerConfig;
  kubeConfig: k8s.KubeConfig;
  policies: () => readonly Policy[];
  /** Registers a listener for policy changes (migration holds released at once). */
  onPoliciesChange?: (listener: () => void) => (() => void) | void;
  claims: WatchedCache<k8s.V1PersistentVolumeClaim>;
  metrics: ControllerMetrics;
  logger: Logger;
  /** Reconciling waits for this (the always-on parts, and with them the policies, are up); leadership is held meanwhile. */
  ready: Promise<void>;
  ownershipKey: () => OwnershipKeySource;
}): Part {
  const { config, kubeConfig, policies, claims, metrics, logger } = options;
  const reconciler = {
    ownershipKey: () => options.ownershipKey().ensure(),
    claims: claimClient(kubeConfig),
    pods: podClient(kubeConfig),
    events: eventRecorder(kubeConfig, logger, config.identity),
    claimEventMessage: claimEventMessages(kubeConfig),
  };
  const preparationClient = preparationPodClient(kubeConfig);
  const seedScriptConfigMaps = seedScriptConfigMapClient(kubeConfig);
  let term: { controller: PvcController; pods: WatchedCache<k8s.V1Pod>; preparationPods: WatchedCache<k8s.V1Pod> } | undefined;
  let stopped = false;
  return {
    name: 'PVC controller',
    async start() {
      stopped = false;
      await options.ready;
      // Leadership may have ended while waiting: then there is nothing to start.
      if (stopped) return;
      const pods = watchPods(kubeConfig, config.podSelector, logger, sharingPodView());
      const preparationPods = watchPreparationPods(kubeConfig, config.preparationNamespace, logger);
      const controller = createPvcController({
        policies,
        ...(options.onPoliciesChange ? { onPoliciesChange: options.onPoliciesChange } : {}),
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
    },
    async stop() {
      stopped = true;
      const current = term;
      term = undefined;
      if (!current) return;
      await current.controller.stop();
      await Promise.all([current.pods.stop(), current.preparationPods.stop()]);
    },
  };
}
