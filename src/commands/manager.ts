// The one manager behind `serve`, `controller` and `run`, which are presets of it (webhooks, controller, both).
//
// It owns two lists of parts (parts.ts). Always on, on every replica: the metrics endpoint, the PVC cache, the
// ownership key, and the webhook side's policy source, certificate reload and HTTPS server. Leader-only, started
// on winning the Lease and stopped on losing it (leadership.ts): the certificate renewal, the policy status writer
// and the PVC controller. Without the controller (serve) every replica leads. Leadership is campaigned for before
// the first always-on part that waits for the leader (the certificate reload waits for the Secret), or after the
// last. On SIGTERM the leader-only parts stop first (finishing reconciles, releasing the Lease), then the always-on
// parts, last first.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { claimLookupFromCache } from '../kube/claim-lookup.ts';
import { watchClaims } from '../kube/informers.ts';
import { kubeConfigSource, loadKubeConfig } from '../kube/kube-config.ts';
import { ownershipKeySource, type OwnershipKeySource } from '../kube/ownership-key.ts';
import { leaseClient } from '../kube/leases.ts';
import { controllerMetrics } from '../metrics/controller-metrics.ts';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.ts';
import { createMetricsRegistry } from '../metrics/registry.ts';
import type { Policy } from '../policy/types.ts';
import type { ControllerConfig } from './controller-options.ts';
import { controllerPart } from './controller-part.ts';
import { leadership } from './leadership.ts';
import { startInOrder, stopInReverse, type Part } from './parts.ts';
import type { ServeConfig } from './serve.ts';

export interface ManagerParts {
  /** The admission webhooks, with their policy source (serve, run). */
  webhooks?: ServeConfig;
  /** The leader-elected controller (controller, run). */
  controller?: { config: ControllerConfig; /** Without webhooks: the policies it reconciles for. */ policies?: readonly Policy[] };
  logger: Logger;
}

export async function runManager(parts: ManagerParts): Promise<number> {
  const { webhooks, controller, logger } = parts;
  const both = webhooks !== undefined && controller !== undefined;
  const webhookLogger = both ? logger.child({ component: 'webhook' }) : logger;
  const controllerLogger = both ? logger.child({ component: 'controller' }) : logger;
  const registry = createMetricsRegistry();
  const alwaysOn: Part[] = [];
  const leaderOnly: Part[] = [];

  // One /metrics endpoint per process: the webhook side's flags when it runs here. Started first, so that a taken
  // port fails the start before anything announces itself.
  const metricsAt = webhooks
    ? webhooks.metricsPort === undefined ? undefined : { host: webhooks.metricsHost, port: webhooks.metricsPort, reusePort: webhooks.reusePort }
    : controller && { host: controller.config.metricsHost, port: controller.config.metricsPort, reusePort: controller.config.reusePort };
  let metricsServer: MetricsServer | undefined;
  if (metricsAt) {
    alwaysOn.push({
      name: 'metrics endpoint',
      async start() {
        metricsServer = await startMetricsServer(registry, metricsAt, logger);
      },
      async stop() {
        await metricsServer?.stop();
      },
    });
  }

  const kubeconfigFlag = controller ? controller.config.kubeconfig : webhooks?.kubeconfig;
  let kubeConfig: k8s.KubeConfig | undefined;
  const cluster = kubeConfigSource(kubeconfigFlag) === undefined ? undefined : () => (kubeConfig ??= loadKubeConfig(kubeconfigFlag));

  // The PVC cache: the controller's, which the webhooks in the same process read too.
  const claims = controller && cluster ? watchClaims(cluster(), webhookLogger) : undefined;
  if (claims) {
    alwaysOn.push({
      name: 'PVC cache',
      async start() {
        // Not awaited: until the cache has synced the webhook gates every sandbox Pod, which is safe. Without
        // webhooks the controller starts it on leading.
        if (webhooks) void claims.start();
      },
      stop: () => claims.stop(),
    });
  }

  // One key for both halves: the controller proves with it what the webhooks check.
  let ownershipKey: OwnershipKeySource | undefined;
  const keyFlags = controller?.config ?? webhooks;
  if (cluster && keyFlags) {
    alwaysOn.push({
      name: 'ownership key',
      async start() {
        ownershipKey = ownershipKeySource({
          kubeConfig: cluster(),
          namespace: keyFlags.ownershipKeyNamespace,
          secretName: keyFlags.ownershipKeySecret,
          logger: logger.child({ component: 'ownership-key' }),
        });
      },
      async stop() {
        ownershipKey?.stop();
      },
    });
  }

  // Loaded only with webhooks: the controller alone does not carry the webhook server, certificates and policy
  // sources in its memory (about 8 MB of RSS).
  const webhookSide = webhooks
    ? (await import('./webhook-parts.ts')).webhookParts(webhooks, {
        logger: webhookLogger,
        registry,
        ...(cluster ? { cluster } : {}),
        ...(claims ? { claims: claimLookupFromCache(claims) } : {}),
        ownershipKey: () => ownershipKey,
        withController: controller !== undefined,
      })
    : undefined;
  alwaysOn.push(...(webhookSide?.alwaysOn ?? []));
  leaderOnly.push(...(webhookSide?.leaderOnly ?? []));

  let alwaysOnUp = () => {};
  const ready = new Promise<void>((resolve) => (alwaysOnUp = resolve));
  const metrics = controller ? controllerMetrics(registry) : undefined;
  if (controller && cluster && claims && metrics) {
    const fixedPolicies = controller.policies ?? [];
    leaderOnly.push(
      controllerPart({
        config: controller.config,
        kubeConfig: cluster(),
        policies: webhookSide ? () => webhookSide.policies() : () => fixedPolicies,
        ...(webhookSide ? { onPoliciesChange: webhookSide.onPoliciesChange } : {}),
        claims,
        metrics,
        logger: controllerLogger,
        ready,
        ownershipKey: () => ownershipKey as OwnershipKeySource,
      }),
    );
  }
  const config = controller?.config;
  const leader = leadership({
    parts: leaderOnly,
    ...(config?.leaderElect && cluster
      ? {
          elect: {
            leases: leaseClient(cluster()),
            namespace: config.leaseNamespace,
            name: config.leaseName,
            identity: config.identity,
            leaseDurationMs: config.leaseDurationMs,
            renewDeadlineMs: config.renewDeadlineMs,
            retryPeriodMs: config.retryPeriodMs,
          },
        }
      : {}),
    ...(metrics ? { onLeaderChange: (leading: boolean) => metrics.leader(leading) } : {}),
    logger: controllerLogger,
  });

  const started: Part[] = [];
  let campaigning = false;
  const campaign = () => {
    if (campaigning) return;
    campaigning = true;
    leader.begin();
  };
  try {
    for (const part of alwaysOn) {
      if (part.waitsForLeader) campaign();
      await startInOrder([part], started);
    }
  } catch (error) {
    await leader.stop();
    await stopInReverse(started, logger);
    throw error;
  }
  if (controller && !webhooks) {
    logger.info({ metricsPort: metricsServer?.address.port, policies: (controller.policies ?? []).map((policy) => policy.name) }, 'controller starting');
  }
  campaign();
  alwaysOnUp();
  if (both) logger.info({ port: webhookSide?.port(), metricsPort: metricsServer?.address.port }, 'webhooks and controller started');

  await waitForTermination(logger);
  await leader.stop();
  await stopInReverse(started, logger);
  logger.info('stopped');
  return 0;
}

export function waitForTermination(logger: Logger): Promise<string> {
  return new Promise((resolve) => {
    const handler = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve(signal);
    };
    process.once('SIGTERM', () => handler('SIGTERM'));
    process.once('SIGINT', () => handler('SIGINT'));
  });
}
