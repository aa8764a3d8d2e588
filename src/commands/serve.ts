// `sandbox-storage serve`: the HTTPS admission webhook.
import { X509Certificate } from 'node:crypto';
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { usesNamespaceSelector } from '../admission/select-policy.ts';
import { kubeConfigSource, loadKubeConfig } from '../k8s/kube-config.ts';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { NamespaceLabelLookup } from '../admission/namespace-labels.ts';
import { namespaceLabelLookup } from '../k8s/namespace-labels.ts';
import { embeddedDefaultPolicies } from '../policy/embedded-default.ts';
import { watchClusterPolicies } from '../policy/sources/cluster-source.ts';
import { watchPolicyFiles } from '../policy/sources/file-source.ts';
import { staticPolicySet, type PolicySet } from '../policy/sources/policy-set.ts';
import { admissionMetrics } from '../metrics/admission-metrics.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import { createMetricsRegistry } from '../metrics/registry.ts';
import { startWebhookServer } from '../server/webhook-server.ts';
import { UsageError } from './usage-error.ts';

export const serveUsage = `Usage: sandbox-storage serve --tls-cert-file FILE --tls-key-file FILE [options]

Serves the mutating admission webhook (POST /mutate) over HTTPS, plus /healthz and /readyz.

Options:
  --tls-cert-file FILE   serving certificate (PEM); reloaded when it changes
  --tls-key-file FILE    its private key (PEM)
  --policy FILE          SandboxStoragePolicy YAML, reloaded when it changes (repeatable)
  --cluster-policies     use the SandboxStoragePolicy objects of the cluster, kept current by a watch
                         (without --policy or --cluster-policies: the embedded default policy)
  --host ADDRESS         address to listen on (default 0.0.0.0)
  --port PORT            port to listen on (default 8443; 0 picks a free port)
  --kubeconfig FILE      cluster credentials for namespace labels (default: in-cluster, then $KUBECONFIG)
  --max-body-bytes N     largest accepted request (default 3145728)
  --metrics-host ADDRESS address of the plain-HTTP /metrics endpoint (default 0.0.0.0)
  --metrics-port PORT    its port (default 9090; 0 picks a free port; none turns it off)
  --log-level LEVEL      trace, debug, info, warn, error (default info)
`;

export interface ServeConfig {
  certFile: string;
  keyFile: string;
  policyFiles: string[];
  host: string;
  port: number;
  clusterPolicies: boolean;
  kubeconfig?: string;
  maxBodyBytes: number;
  metricsHost: string;
  /** undefined: no metrics endpoint. */
  metricsPort?: number;
  logLevel: string;
}

const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Reads every flag and reports every problem at once, before anything starts. */
export async function parseServeConfig(args: string[]): Promise<ServeConfig> {
  const { values } = parseArgs({
    args,
    options: {
      'tls-cert-file': { type: 'string' },
      'tls-key-file': { type: 'string' },
      policy: { type: 'string', multiple: true },
      'cluster-policies': { type: 'boolean', default: false },
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '8443' },
      kubeconfig: { type: 'string' },
      'max-body-bytes': { type: 'string', default: String(3 * 1024 * 1024) },
      'metrics-host': { type: 'string', default: '0.0.0.0' },
      'metrics-port': { type: 'string', default: '9090' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
    allowPositionals: false,
  });
  const problems: string[] = [];
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`--port must be 0..65535, got ${values.port}`);
  const metricsPort = values['metrics-port'] === 'none' ? undefined : Number(values['metrics-port']);
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) {
    problems.push(`--metrics-port must be 0..65535 or none, got ${values['metrics-port']}`);
  }
  const maxBodyBytes = Number(values['max-body-bytes']);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) {
    problems.push(`--max-body-bytes must be an integer of at least 1024, got ${values['max-body-bytes']}`);
  }
  if (!logLevels.includes(values['log-level'])) {
    problems.push(`--log-level must be one of ${logLevels.join(', ')}, got ${values['log-level']}`);
  }
  const files: Array<[string, string | undefined]> = [
    ['--tls-cert-file', values['tls-cert-file']],
    ['--tls-key-file', values['tls-key-file']],
    ...(values.policy ?? []).map((file): [string, string] => ['--policy', file]),
  ];
  if (values.kubeconfig !== undefined) files.push(['--kubeconfig', values.kubeconfig]);
  for (const [flag, file] of files) {
    if (file === undefined) problems.push(`${flag} is required`);
    else if (!(await access(file).then(() => true, () => false))) problems.push(`${flag}: cannot read ${file}`);
  }
  if (values['cluster-policies'] && (values.policy ?? []).length > 0) {
    problems.push('give either --policy files or --cluster-policies, not both');
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return {
    certFile: values['tls-cert-file'] as string,
    keyFile: values['tls-key-file'] as string,
    policyFiles: values.policy ?? [],
    clusterPolicies: values['cluster-policies'],
    host: values.host,
    port,
    kubeconfig: values.kubeconfig,
    maxBodyBytes,
    metricsHost: values['metrics-host'],
    ...(metricsPort === undefined ? {} : { metricsPort }),
    logLevel: values['log-level'],
  };
}

async function openPolicySet(config: ServeConfig, logger: Logger, kubeConfig: () => k8s.KubeConfig): Promise<PolicySet> {
  if (config.clusterPolicies) return watchClusterPolicies(kubeConfig(), logger);
  if (config.policyFiles.length > 0) return watchPolicyFiles(config.policyFiles, logger);
  return staticPolicySet(embeddedDefaultPolicies());
}

export async function runServe(args: string[]): Promise<number> {
  const config = await parseServeConfig(args);
  const logger = pino({ level: config.logLevel, base: { component: 'webhook' } });
  const hasCluster = kubeConfigSource(config.kubeconfig) !== undefined;
  if (config.clusterPolicies && !hasCluster) {
    throw new UsageError('--cluster-policies needs cluster access: run in-cluster, or give --kubeconfig or $KUBECONFIG');
  }
  let kubeConfig: k8s.KubeConfig | undefined;
  const cluster = () => (kubeConfig ??= loadKubeConfig(config.kubeconfig));
  let policySet: PolicySet;
  try {
    policySet = await openPolicySet(config, logger, cluster);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (usesNamespaceSelector(policySet.current()) && !hasCluster) {
    await policySet.stop();
    throw new UsageError(
      'a policy has a namespaceSelector, which needs namespace labels from the cluster: run in-cluster, or give --kubeconfig or $KUBECONFIG',
    );
  }
  // A policy reloaded later may bring a namespaceSelector; without credentials such Pods fail closed.
  const namespaceLabels: NamespaceLabelLookup = hasCluster
    ? namespaceLabelLookup(cluster(), logger)
    : async () => {
        throw new Error('a policy has a namespaceSelector, but this server has no cluster credentials');
      };
  const registry = createMetricsRegistry();
  const metrics = admissionMetrics(registry);
  const metricsServer =
    config.metricsPort === undefined ? undefined : await startMetricsServer(registry, config.metricsHost, config.metricsPort, logger);
  metrics.setPolicies(policySet.states());
  policySet.onChange(() => metrics.setPolicies(policySet.states()));
  const server = await startWebhookServer({
    tls: { certFile: config.certFile, keyFile: config.keyFile },
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    sources: () => ({ policies: policySet.current(), namespaceLabels }),
    isReady: () => policySet.ready(),
    logger,
    observe: (webhook, outcome, seconds) => metrics.observe(webhook, outcome, seconds),
    onCertificate: (pem) => metrics.setCertificateExpiry(new Date(new X509Certificate(pem).validTo)),
  });
  const logPolicies = () => logger.info({ policies: policySet.current().map((policy) => policy.name) }, 'policies loaded');
  logPolicies();
  policySet.onChange(logPolicies);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void server
        .stop()
        .then(() => Promise.all([policySet.stop(), metricsServer?.stop()]))
        .then(() => resolve());
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}
