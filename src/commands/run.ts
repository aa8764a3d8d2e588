// `sandbox-storage run`: webhook and controller in one process, as deploy/ ships it. The webhook answers on every
// replica and reads existing PVCs from a shared watch cache; only the Lease holder reconciles.
import pino from 'pino';
import { usesNamespaceSelector } from '../admission/select-policy.ts';
import { claimLookupFromCache } from '../k8s/claim-lookup.ts';
import { watchClaims } from '../k8s/informers.ts';
import { kubeConfigSource, loadKubeConfig } from '../k8s/kube-config.ts';
import { namespaceLabelLookup, staticNamespaceLabels } from '../k8s/namespace-labels.ts';
import { createMetricsRegistry } from '../metrics/controller-metrics.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import { startWebhookServer } from '../server/webhook-server.ts';
import { waitForTermination } from './controller.ts';
import { controllerOptionsUsage, parseControllerConfig, splitRunArgs } from './controller-options.ts';
import { startControllerRuntime } from './controller-runtime.ts';
import { loadPolicies, parseServeConfig, serveUsage } from './serve.ts';
import { UsageError } from './usage-error.ts';

export const runUsage = `Usage: sandbox-storage run --tls-cert-file FILE --tls-key-file FILE [options]

Runs the mutating webhook (every replica) and the leader-elected PVC controller in one process.

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
  const policies = await loadPolicies(controllerConfig.policyFiles);
  const logger = pino({ level: controllerConfig.logLevel, base: { identity: controllerConfig.identity } });
  const kubeConfig = loadKubeConfig(controllerConfig.kubeconfig);
  const registry = createMetricsRegistry();
  const metricsServer = await startMetricsServer(registry, controllerConfig.metricsHost, controllerConfig.metricsPort);

  const claims = watchClaims(kubeConfig, logger.child({ component: 'webhook' }));
  // Not awaited: until the cache has synced the webhook gates every sandbox Pod, which is safe.
  void claims.start();
  const claimLookup = claimLookupFromCache(claims);
  const namespaceLabels = usesNamespaceSelector(policies)
    ? namespaceLabelLookup(kubeConfig, logger)
    : staticNamespaceLabels(undefined);
  const webhook = await startWebhookServer({
    tls: { certFile: serveConfig.certFile, keyFile: serveConfig.keyFile },
    host: serveConfig.host,
    port: serveConfig.port,
    maxBodyBytes: serveConfig.maxBodyBytes,
    sources: () => {
      const lookup = claimLookup();
      return lookup ? { policies, namespaceLabels, claims: lookup } : { policies, namespaceLabels };
    },
    logger: logger.child({ component: 'webhook' }),
  });
  const runtime = startControllerRuntime({
    config: controllerConfig,
    kubeConfig,
    policies,
    claims,
    registry,
    logger: logger.child({ component: 'controller' }),
  });
  logger.info(
    { port: webhook.address.port, metricsPort: metricsServer.port, policies: policies.map((policy) => policy.name) },
    'webhook and controller started',
  );
  await waitForTermination(logger);
  await Promise.all([runtime.stop(), webhook.stop()]);
  await claims.stop();
  await metricsServer.stop();
  logger.info('stopped');
  return 0;
}
