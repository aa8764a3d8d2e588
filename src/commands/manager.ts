// The one manager behind `serve`, `controller` and `run`, which are presets of it (webhooks, controller, both).
//
// Always on, on every replica: the metrics endpoint, the policy source, the caches (the PVC watch the webhooks
// and the controller share), the ownership key, and the admission webhooks. Leader-only, behind the Lease: the
// controllers (PVCs, directory preparation), the policy status writer and certificate rotation; both of the
// latter live in the webhook stack and ask `isLeader` (without the controller, as in `serve`, every replica acts
// as leader and writes converge optimistically). Stop order on SIGTERM: webhooks and controller together, then
// the key, the caches and the metrics endpoint.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { claimLookupFromCache } from '../kube/claim-lookup.ts';
import { watchClaims } from '../kube/informers.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import { ownershipKeySource } from '../kube/ownership-key.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import { createMetricsRegistry } from '../metrics/registry.ts';
import type { Policy } from '../policy/types.ts';
import type { ControllerConfig } from './controller-options.ts';
import { startControllerRuntime } from './controller-runtime.ts';
import type { ServeConfig } from './serve.ts';
import { startWebhookStack, type WebhookStack } from './webhook-stack.ts';

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
  const registry = createMetricsRegistry();
  // One /metrics endpoint per process: the webhook side's flags when it runs here. Bound first, so that a taken
  // port fails the start before anything announces itself.
  const metricsAt = webhooks
    ? webhooks.metricsPort === undefined ? undefined : { host: webhooks.metricsHost, port: webhooks.metricsPort, reusePort: webhooks.reusePort }
    : controller && { host: controller.config.metricsHost, port: controller.config.metricsPort, reusePort: controller.config.reusePort };
  const metricsServer = metricsAt ? await startMetricsServer(registry, metricsAt, logger) : undefined;

  let kubeConfig: k8s.KubeConfig | undefined;
  let claims: ReturnType<typeof watchClaims> | undefined;
  if (controller) {
    kubeConfig = loadKubeConfig(controller.config.kubeconfig);
    if (!webhooks) {
      logger.info({ metricsPort: metricsServer?.address.port, policies: (controller.policies ?? []).map((policy) => policy.name) }, 'controller starting');
    }
    claims = watchClaims(kubeConfig, both ? logger.child({ component: 'webhook' }) : logger);
    // Not awaited: until the cache has synced the webhook gates every sandbox Pod, which is safe.
    if (webhooks) void claims.start();
  }
  // One key for both halves: the controller proves with it what the webhooks check.
  const ownershipKey =
    both && kubeConfig
      ? ownershipKeySource({
          kubeConfig,
          namespace: controller.config.ownershipKeyNamespace,
          secretName: controller.config.ownershipKeySecret,
          logger: logger.child({ component: 'ownership-key' }),
        })
      : undefined;

  // The controller campaigns first: with self-managed certificates the webhook waits for the leader to create
  // them. With webhooks in the process it reconciles only once they (and so the policies) are up.
  let stack: WebhookStack | undefined;
  let stackStarted: (() => void) | undefined;
  const ready = webhooks ? new Promise<void>((resolve) => (stackStarted = resolve)) : undefined;
  const fixedPolicies = controller?.policies ?? [];
  const runtime =
    controller && kubeConfig && claims
      ? startControllerRuntime({
          config: controller.config,
          kubeConfig,
          policies: webhooks ? () => stack?.policySet.current() ?? [] : () => fixedPolicies,
          claims,
          registry,
          logger: both ? logger.child({ component: 'controller' }) : logger,
          ...(ready ? { ready } : {}),
          ...(ownershipKey ? { ownershipKey } : {}),
        })
      : undefined;
  if (webhooks) {
    stack = await startWebhookStack(webhooks, {
      logger: both ? logger.child({ component: 'webhook' }) : logger,
      registry,
      isLeader: runtime ? () => runtime.isLeader() : () => true,
      ...(claims ? { claims: claimLookupFromCache(claims) } : {}),
      ...(ownershipKey ? { ownershipKey } : {}),
    });
    stackStarted?.();
  }
  if (both) logger.info({ port: stack?.server.address.port, metricsPort: metricsServer?.address.port }, 'webhooks and controller started');

  await waitForTermination(logger);
  await Promise.all([runtime?.stop(), stack?.stop()]);
  ownershipKey?.stop();
  await claims?.stop();
  await metricsServer?.stop();
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
