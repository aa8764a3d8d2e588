// `sandbox-storage controller`: the leader-elected PVC controller alone, with /metrics on its own port.
import pino from 'pino';
import { watchClaims } from '../k8s/informers.ts';
import { kubeConfigSource, loadKubeConfig } from '../k8s/kube-config.ts';
import { createMetricsRegistry } from '../metrics/controller-metrics.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import { controllerOptionsUsage, parseControllerConfig } from './controller-options.ts';
import { startControllerRuntime } from './controller-runtime.ts';
import { loadPolicies } from './serve.ts';
import { UsageError } from './usage-error.ts';

export const controllerUsage = `Usage: sandbox-storage controller [options]

Creates the PVCs that admitted sandbox Pods need and removes their scheduling gate once the storage exists.
Only the replica holding the Lease reconciles.

${controllerOptionsUsage}`;

export function waitForTermination(logger: pino.Logger): Promise<string> {
  return new Promise((resolve) => {
    const handler = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve(signal);
    };
    process.once('SIGTERM', () => handler('SIGTERM'));
    process.once('SIGINT', () => handler('SIGINT'));
  });
}

export async function runController(args: string[]): Promise<number> {
  const config = await parseControllerConfig(args);
  const policies = await loadPolicies(config.policyFiles);
  if (kubeConfigSource(config.kubeconfig) === undefined) {
    throw new UsageError('the controller needs cluster credentials: run in-cluster, or give --kubeconfig or $KUBECONFIG');
  }
  const logger = pino({ level: config.logLevel, base: { component: 'controller', identity: config.identity } });
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const registry = createMetricsRegistry();
  const metricsServer = await startMetricsServer(registry, config.metricsHost, config.metricsPort);
  logger.info({ metricsPort: metricsServer.port, policies: policies.map((policy) => policy.name) }, 'controller starting');
  const claims = watchClaims(kubeConfig, logger);
  const runtime = startControllerRuntime({ config, kubeConfig, policies, claims, registry, logger });
  await waitForTermination(logger);
  await runtime.stop();
  await claims.stop();
  await metricsServer.stop();
  logger.info('stopped');
  return 0;
}
