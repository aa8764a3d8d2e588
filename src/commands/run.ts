// `sandbox-storage run`: webhooks and controller in one process, as deploy/ ships it. The webhooks answer on every
// replica and read existing PVCs from the shared watch cache; only the Lease holder reconciles, writes policy
// status and manages the certificate Secret. A preset of the manager: every flag is parsed once, from one table.
import { kubeConfigSource } from '../kube/kube-config.ts';
import { controllerConfigFrom, type ControllerConfig, type ControllerValues } from './controller-options.ts';
import { runManager } from './manager.ts';
import { optionsUsage, parseOptions } from './options.ts';
import { serveConfigFrom, type ServeConfig, type ServeValues } from './serve.ts';
import { UsageError } from './usage-error.ts';
import { processLogger } from './process-logger.ts';

export const runSummary = `Runs the admission webhooks (every replica) and the leader-elected PVC controller in one process. Policies come
from --policy files or --cluster-policies; one /metrics endpoint serves both.`;

export const runUsage = `Usage: sandbox-storage run --tls-cert-file FILE --tls-key-file FILE [options]

${runSummary}
${optionsUsage('run')}`;

/**
 * One parse of run's flags, read by both sides: policies and metrics by the webhooks, controller flags by the
 * controller, credentials, log level and ownership key by both. A problem with a flag both read is listed once.
 */
export async function runConfigFrom(args: string[]): Promise<{ serve: ServeConfig; controller: ControllerConfig; problems: string[] }> {
  const values = parseOptions('run', args);
  const [serve, controller] = await Promise.all([
    serveConfigFrom(values as unknown as ServeValues),
    controllerConfigFrom(values as unknown as ControllerValues, { withWebhooks: true }),
  ]);
  return { serve: serve.config, controller: controller.config, problems: [...new Set([...serve.problems, ...controller.problems])] };
}

export async function runAll(args: string[]): Promise<number> {
  const { serve, controller, problems } = await runConfigFrom(args);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  if (kubeConfigSource(controller.kubeconfig) === undefined) {
    throw new UsageError('run needs cluster credentials: run in-cluster, or give --kubeconfig or $KUBECONFIG');
  }
  const logger = processLogger({ level: controller.logLevel, base: { identity: controller.identity } });
  return runManager({ webhooks: serve, controller: { config: controller }, logger });
}
