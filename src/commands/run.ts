// `sandbox-storage run`: webhooks and controller in one process, as deploy/ ships it. The webhooks answer on every
// replica and read existing PVCs from the shared watch cache; only the Lease holder reconciles, writes policy
// status and manages the certificate Secret.
import pino from 'pino';
import { claimLookupFromCache } from '../kube/claim-lookup.ts';
import { watchClaims } from '../kube/informers.ts';
import { kubeConfigSource, loadKubeConfig } from '../kube/kube-config.ts';
import { ownershipKeySource } from '../kube/ownership-key.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import { createMetricsRegistry } from '../metrics/registry.ts';
import { controllerOptionsUsage, parseControllerConfig, splitRunArgs } from './controller-options.ts';
import { startControllerRuntime } from './controller-runtime.ts';
import { parseServeConfig, serveUsage, startWebhookStack, waitForTermination, type WebhookStack } from './serve.ts';
import { UsageError } from './usage-error.ts';

export const runUsage = `Usage: sandbox-storage run --tls-cert-file FILE --tls-key-file FILE [options]

Runs the admission webhooks (every replica) and the leader-elected PVC controller in one process. Policies come
from the webhook options (--policy files or --cluster-policies); one /metrics endpoint serves both.

Webhook ${serveUsage.slice(serveUsage.indexOf('Options:'))}
${controllerOptionsUsage}`;

export async function runAll(args: string[]): Promise<number> {
  const { controllerArgs, serveArgs } = splitRunArgs(args);
  const problems: string[] = [];
  const [serveConfig, controllerConfig] = await Promise.all([
    parseServeConfig(serveArgs).catch((error: unknown) => void problems.push((error as Error).message)),
    parseControllerConfig(controllerArgs).catch((error: unknown) => void problems.push((error as Error).message)),
  ]);
  if (!serveConfig || !controllerConfig) throw new UsageError(problems.join('\n'));
  if (kubeConfigSource(controllerConfig.kubeconfig) === undefined) {
    throw new UsageError('run needs cluster credentials: run in-cluster, or give --kubeconfig or $KUBECONFIG');
  }
  const logger = pino({ level: controllerConfig.logLevel, base: { identity: controllerConfig.identity } });
  const kubeConfig = loadKubeConfig(controllerConfig.kubeconfig);
  const registry = createMetricsRegistry();
  const metricsServer =
    serveConfig.metricsPort === undefined
      ? undefined
      : await startMetricsServer(registry, serveConfig.metricsHost, serveConfig.metricsPort, logger);

  const claims = watchClaims(kubeConfig, logger.child({ component: 'webhook' }));
  // Not awaited: until the cache has synced the webhook gates every sandbox Pod, which is safe.
  void claims.start();
  const claimLookup = claimLookupFromCache(claims);
  // One key for both halves: the controller proves with it what the webhooks check.
  const ownershipKey = ownershipKeySource({
    kubeConfig,
    namespace: controllerConfig.ownershipKeyNamespace,
    secretName: controllerConfig.ownershipKeySecret,
    logger: logger.child({ component: 'ownership-key' }),
  });
  // The controller campaigns first: with self-managed certificates the webhook waits for the leader to create
  // them. It reconciles only once the webhook stack (and so the policies) is up.
  let stack: WebhookStack | undefined;
  let stackStarted!: () => void;
  const ready = new Promise<void>((resolve) => (stackStarted = resolve));
  const runtime = startControllerRuntime({
    config: controllerConfig,
    kubeConfig,
    policies: () => stack?.policySet.current() ?? [],
    claims,
    registry,
    logger: logger.child({ component: 'controller' }),
    ready,
    ownershipKey,
  });
  stack = await startWebhookStack(serveConfig, {
    logger: logger.child({ component: 'webhook' }),
    registry,
    isLeader: () => runtime.isLeader(),
    claims: claimLookup,
    ownershipKey,
  });
  stackStarted();
  logger.info({ port: stack.server.address.port, metricsPort: metricsServer?.address.port }, 'webhooks and controller started');
  await waitForTermination(logger);
  await Promise.all([runtime.stop(), stack.stop()]);
  ownershipKey.stop();
  await claims.stop();
  await metricsServer?.stop();
  logger.info('stopped');
  return 0;
}
