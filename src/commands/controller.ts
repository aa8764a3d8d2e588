// `sandbox-storage controller`: the leader-elected PVC controller alone, with /metrics on its own port. A preset of
// the manager.
import pino from 'pino';
import { kubeConfigSource } from '../kube/kube-config.ts';
import { loadPoliciesOrDefault } from '../policy/embedded-default.ts';
import { parseControllerConfig } from './controller-options.ts';
import { runManager } from './manager.ts';
import { optionsUsage } from './options.ts';
import { UsageError } from './usage-error.ts';

export const controllerSummary = `Creates the PVCs that admitted sandbox Pods need and removes their scheduling gate once the storage exists.
Only the replica holding the Lease reconciles. (To follow cluster policies and serve the webhooks in the same
process, use sandbox-storage run.)`;

export const controllerUsage = `Usage: sandbox-storage controller [options]

${controllerSummary}
${optionsUsage('controller')}`;

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
  return runManager({ controller: { config, policies }, logger });
}
