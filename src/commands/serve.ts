// `sandbox-storage serve`: the HTTPS admission webhook.
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { usesNamespaceSelector } from '../admission/select-policy.ts';
import { kubeConfigSource, loadKubeConfig } from '../k8s/kube-config.ts';
import { staticNamespaceLabels } from '../admission/namespace-labels.ts';
import { claimLabelLookup } from '../k8s/claim-labels.ts';
import { podLookup } from '../k8s/pod-lookup.ts';
import { namespaceLabelLookup } from '../k8s/namespace-labels.ts';
import { loadPoliciesOrDefault } from '../policy/embedded-default.ts';
import { startWebhookServer } from '../server/webhook-server.ts';
import { UsageError } from './usage-error.ts';

export const serveUsage = `Usage: sandbox-storage serve --tls-cert-file FILE --tls-key-file FILE [options]

Serves the mutating (POST /mutate) and validating (POST /validate) admission webhooks over HTTPS, plus /healthz
and /readyz.

Options:
  --tls-cert-file FILE   serving certificate (PEM); reloaded when it changes
  --tls-key-file FILE    its private key (PEM)
  --policy FILE          SandboxStoragePolicy YAML (repeatable; default: the embedded default policy)
  --host ADDRESS         address to listen on (default 0.0.0.0)
  --port PORT            port to listen on (default 8443; 0 picks a free port)
  --kubeconfig FILE      cluster credentials for namespace and PVC labels (default: in-cluster, then $KUBECONFIG)
  --max-body-bytes N     largest accepted request (default 3145728)
  --log-level LEVEL      trace, debug, info, warn, error (default info)
`;

export interface ServeConfig {
  certFile: string;
  keyFile: string;
  policyFiles: string[];
  host: string;
  port: number;
  kubeconfig?: string;
  maxBodyBytes: number;
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
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '8443' },
      kubeconfig: { type: 'string' },
      'max-body-bytes': { type: 'string', default: String(3 * 1024 * 1024) },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
    allowPositionals: false,
  });
  const problems: string[] = [];
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`--port must be 0..65535, got ${values.port}`);
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
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return {
    certFile: values['tls-cert-file'] as string,
    keyFile: values['tls-key-file'] as string,
    policyFiles: values.policy ?? [],
    host: values.host,
    port,
    kubeconfig: values.kubeconfig,
    maxBodyBytes,
    logLevel: values['log-level'],
  };
}

export async function runServe(args: string[]): Promise<number> {
  const config = await parseServeConfig(args);
  const policies = await loadPoliciesOrDefault(config.policyFiles);
  const logger = pino({ level: config.logLevel, base: { component: 'webhook' } });
  if (usesNamespaceSelector(policies) && kubeConfigSource(config.kubeconfig) === undefined) {
    throw new UsageError(
      'a policy has a namespaceSelector, which needs namespace labels from the cluster: run in-cluster, or give --kubeconfig or $KUBECONFIG',
    );
  }
  const namespaceLabels = usesNamespaceSelector(policies)
    ? namespaceLabelLookup(loadKubeConfig(config.kubeconfig), logger)
    : staticNamespaceLabels(undefined);
  // With cluster access, /validate also confirms PVC ownership labels; without, it decides by claim names alone.
  const hasCluster = kubeConfigSource(config.kubeconfig) !== undefined;
  const cluster = hasCluster ? loadKubeConfig(config.kubeconfig) : undefined;
  if (!cluster) {
    logger.warn('no cluster credentials: /validate recognises governed PVCs by name only, and cannot check exec/attach/portforward');
  }
  const sources = {
    policies,
    namespaceLabels,
    ...(cluster ? { claimLabels: claimLabelLookup(cluster, logger), pod: podLookup(cluster, logger) } : {}),
  };
  const server = await startWebhookServer({
    tls: { certFile: config.certFile, keyFile: config.keyFile },
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    sources: () => sources,
    logger,
  });
  logger.info({ policies: policies.map((policy) => policy.name) }, 'policies loaded');
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void server.stop().then(resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}
