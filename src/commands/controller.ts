// `sandbox-storage controller`: the leader-elected PVC controller alone, with /metrics on its own port.
import pino from 'pino';
import { watchClaims } from '../kube/informers.ts';
import { kubeConfigSource, loadKubeConfig } from '../kube/kube-config.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import { createMetricsRegistry } from '../metrics/registry.ts';
import { loadPoliciesOrDefault } from '../policy/embedded-default.ts';
import { controllerOptionsUsage, parseControllerConfig } from './controller-options.ts';
import { startControllerRuntime } from './controller-runtime.ts';
import { waitForTermination } from './serve.ts';
import { UsageError } from './usage-error.ts';

export const controllerUsage = `Usage: sandbox-storage controller [options]

Creates the PVCs that admitted sandbox Pods need and removes their scheduling gate once the storage exists.
Only the replica holding the Lease reconciles. (To follow cluster policies and serve the webhooks in the same
process, use \`sandbox-storage run\`.)

${controllerOptionsUsage}`;

export async function runController(args: string[]): Promise<number> {
  const config = await parseControllerConfig(args);
  let policies;
  try {
    policies = await loadPoliciesOrDefault(config.policyFiles);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (kubeConfigSource(config.kubeconfig) === undefined) {
    throw new UsageError('the controller needs cluster credentials: run in-cluster, or give --kubeconfig or $KUBECONFIG');
  }
  const logger = pino({ level: config.logLevel, base: { component: 'controller', identity: config.identity } });
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const registry = createMetricsRegistry();
  const metricsServer = await startMetricsServer(registry, config.metricsHost, config.metricsPort, logger);
  logger.info({ metricsPort: metricsServer.address.port, policies: policies.map((policy) => policy.name) }, 'controller starting');
  const claims = watchClaims(kubeConfig, logger);
  const runtime = startControllerRuntime({ config, kubeConfig, policies: () => policies, claims, registry, logger });
  await waitForTermination(logger);
  await runtime.stop();
  await claims.stop();
  await metricsServer.stop();
  logger.info('stopped');
  return 0;
}
