// Runs the PVC controller in-process against a test control plane, with its own watches, Events and metrics.
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { eventRecorder } from '../../src/kube/events.ts';
import { sharingPodView } from '../../src/controller/pod-view.ts';
import { createPvcController, type PvcController } from '../../src/controller/pvc-controller.ts';
import { claimClient, claimEventMessages, type ClaimClient } from '../../src/kube/claims.ts';
import { watchClaims, watchPods, type WatchedCache } from '../../src/kube/informers.ts';
import { podClient } from '../../src/kube/pods.ts';
import { preparationPodClient, watchPreparationPods } from '../../src/kube/preparation-pods.ts';
import { seedScriptConfigMapClient } from '../../src/kube/seed-script-configmaps.ts';
import { controllerMetrics } from '../../src/metrics/controller-metrics.ts';
import { createMetricsRegistry } from '../../src/metrics/registry.ts';
import type { Policy } from '../../src/policy/types.ts';

/** The ownership key of the controllers (and webhooks) a test file starts, unless it brings its own. */
export const testOwnershipKey = new Uint8Array(randomBytes(32));

export interface TestController {
  controller: PvcController;
  claims: WatchedCache<k8s.V1PersistentVolumeClaim>;
  registry: Registry;
  stop(): Promise<void>;
}

export async function startTestController(
  kubeConfig: k8s.KubeConfig,
  policies: readonly Policy[] | { current(): readonly Policy[]; onChange(listener: () => void): void },
  options: {
    claimClient?: ClaimClient;
    logger?: Logger;
    instance?: string;
    readClaimsFromApi?: boolean;
    /** Default: testOwnershipKey, shared by every controller of the test file. */
    ownershipKey?: Uint8Array;
    /** How often everything is re-checked (default: the controller's 5 minutes). */
    resyncMs?: number;
    /** Directory preparation: preparation Pods in this namespace (watched), with this image. */
    preparation?: { namespace: string; image: string; retryBaseMs?: number };
  } = {},
): Promise<TestController> {
  // SANDBOX_STORAGE_TEST_LOG=debug shows the controller's log while diagnosing a test.
  const logger = options.logger ?? pino({ level: process.env.SANDBOX_STORAGE_TEST_LOG ?? 'silent' });
  const registry = createMetricsRegistry();
  // The same reduced Pod view as the shipped controller, so the tests decide from what it caches.
  const pods = watchPods(kubeConfig, 'sandbox-storage.io/inject=true', logger, sharingPodView());
  const claims = watchClaims(kubeConfig, logger);
  const preparationPods = options.preparation ? watchPreparationPods(kubeConfig, options.preparation.namespace, logger) : undefined;
  const controller = createPvcController({
    ...(Array.isArray(policies)
      ? { policies: () => policies as readonly Policy[] }
      : {
          policies: () => (policies as { current(): readonly Policy[] }).current(),
          onPoliciesChange: (listener: () => void) => (policies as { onChange(listener: () => void): void }).onChange(listener),
        }),
    pods,
    claims,
    logger,
    metrics: controllerMetrics(registry),
    seedScriptConfigMaps: seedScriptConfigMapClient(kubeConfig),
    ...(options.resyncMs !== undefined ? { resyncMs: options.resyncMs } : {}),
    reconciler: {
      claims: options.claimClient ?? claimClient(kubeConfig),
      pods: podClient(kubeConfig),
      events: eventRecorder(kubeConfig, logger, options.instance ?? 'test'),
      claimEventMessage: claimEventMessages(kubeConfig),
      ownershipKey: async () => options.ownershipKey ?? testOwnershipKey,
      // Forces a Get per reconcile instead of the watch cache, for tests that interleave with the Get.
      ...(options.readClaimsFromApi ? { cachedClaim: () => undefined } : {}),
    },
    ...(options.preparation && preparationPods
      ? {
          preparation: {
            client: preparationPodClient(kubeConfig),
            defaultNamespace: options.preparation.namespace,
            defaultImage: options.preparation.image,
            pods: preparationPods,
            ...(options.preparation.retryBaseMs !== undefined ? { retryBaseMs: options.preparation.retryBaseMs } : {}),
          },
        }
      : {}),
  });
  await controller.start();
  return {
    controller,
    claims,
    registry,
    async stop() {
      await controller.stop();
      await pods.stop();
      await claims.stop();
      await preparationPods?.stop();
    },
  };
}
