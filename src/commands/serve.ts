// `sandbox-storage serve`: the HTTPS admission webhooks, a preset of the manager (manager.ts), and the webhook
// side's configuration, which run reads from the same parse.
import { access, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { renewalWindowMs } from '../certs/rotation-plan.ts';
import { parseDuration } from './duration.ts';
import { runManager } from './manager.ts';
import { optionsUsage, parseOptions } from './options.ts';
import { logLevelProblems, ownershipKeyProblems } from './shared-flags.ts';
import { UsageError } from './usage-error.ts';
import { processLogger } from './process-logger.ts';

export const serveSummary = `Serves the mutating (POST /mutate) and validating (POST /validate) admission webhooks over HTTPS, plus /healthz
and /readyz. serve elects no leader: every replica acts as one (certificate Secret, policy status); writes are
optimistic, so replicas converge. sandbox-storage run elects one.`;

export const serveUsage = `Usage: sandbox-storage serve --tls-cert-file FILE --tls-key-file FILE [options]

${serveSummary}
${optionsUsage('serve')}`;

export interface ServeConfig {
  certFile: string;
  keyFile: string;
  policyFiles: string[];
  host: string;
  port: number;
  clusterPolicies: boolean;
  writePolicyStatus: boolean;
  kubeconfig?: string;
  maxBodyBytes: number;
  metricsHost: string;
  /** SO_REUSEPORT on the webhook and metrics listeners: replicas on one host network share the ports. */
  reusePort: boolean;
  /** undefined: no metrics endpoint. */
  metricsPort?: number;
  logLevel: string;
  selfManagedCerts?: SelfManagedCertsConfig;
  ownershipKeySecret: string;
  ownershipKeyNamespace: string;
  /** undefined: this process's own username, asked from the API server. */
  controllerUsername?: string;
}

export interface SelfManagedCertsConfig {
  secretName: string;
  namespace: string;
  webhookConfigurationNames: string[];
  dnsNames: string[];
  ipAddresses: string[];
  caValidityMs: number;
  leafValidityMs: number;
  caPropagationDelayMs: number;
  checkIntervalMs: number;
}

const inClusterNamespaceFile = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The values of serve's rows of the option table (src/commands/options.ts), defaults filled. */
export interface ServeValues {
  'tls-cert-file'?: string;
  'tls-key-file'?: string;
  policy?: string[];
  'cluster-policies': boolean;
  'write-policy-status': boolean;
  host: string;
  port: string;
  kubeconfig?: string;
  'max-body-bytes': string;
  'metrics-host': string;
  'metrics-port': string;
  'reuse-port': boolean;
  'log-level': string;
  'self-managed-certs': boolean;
  'cert-secret'?: string;
  'webhook-configuration'?: string[];
  namespace?: string;
  'service-name': string;
  'cert-extra-san'?: string[];
  'ca-validity': string;
  'cert-validity': string;
  'ca-propagation-delay': string;
  'cert-check-interval': string;
  'ownership-key-secret': string;
  'ownership-key-namespace': string;
  'controller-username'?: string;
}

/** Reads every flag and reports every problem at once, before anything starts. */
export async function parseServeConfig(args: string[]): Promise<ServeConfig> {
  const { config, problems } = await serveConfigFrom(parseOptions('serve', args) as unknown as ServeValues);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return config;
}

/** The webhook side's configuration from parsed flags (serve, or run's one parse), and every problem with them. */
export async function serveConfigFrom(values: ServeValues): Promise<{ config: ServeConfig; problems: string[] }> {
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
  problems.push(...logLevelProblems(values['log-level']));
  const selfManaged = values['self-managed-certs'];
  const files: Array<[string, string | undefined]> = [
    ...(values.policy ?? []).map((file): [string, string] => ['--policy', file]),
  ];
  if (selfManaged) {
    // The certificate files are written by this process; they only need a place.
    for (const flag of ['--tls-cert-file', '--tls-key-file'] as const) {
      if (values[flag.slice(2) as 'tls-cert-file' | 'tls-key-file'] === undefined) problems.push(`${flag} is required`);
    }
  } else {
    files.unshift(['--tls-cert-file', values['tls-cert-file']], ['--tls-key-file', values['tls-key-file']]);
  }
  if (values.kubeconfig !== undefined) files.push(['--kubeconfig', values.kubeconfig]);
  for (const [flag, file] of files) {
    if (file === undefined) problems.push(`${flag} is required`);
    else if (!(await access(file).then(() => true, () => false))) problems.push(`${flag}: cannot read ${file}`);
  }
  if (values['cluster-policies'] && (values.policy ?? []).length > 0) {
    problems.push('give either --policy files or --cluster-policies, not both');
  }
  if (values['write-policy-status'] && !values['cluster-policies']) problems.push('--write-policy-status needs --cluster-policies');
  const selfManagedCerts = selfManaged ? await parseSelfManagedCerts(values, problems) : undefined;
  problems.push(...ownershipKeyProblems(values['ownership-key-secret'], values['ownership-key-namespace']));
  if (values['controller-username'] !== undefined && values['controller-username'].trim() === '') {
    problems.push('--controller-username must not be empty');
  }
  const config: ServeConfig = {
    certFile: values['tls-cert-file'] as string,
    keyFile: values['tls-key-file'] as string,
    policyFiles: values.policy ?? [],
    clusterPolicies: values['cluster-policies'],
    writePolicyStatus: values['write-policy-status'],
    host: values.host,
    port,
    kubeconfig: values.kubeconfig,
    maxBodyBytes,
    metricsHost: values['metrics-host'],
    reusePort: values['reuse-port'],
    ...(metricsPort === undefined ? {} : { metricsPort }),
    logLevel: values['log-level'],
    ...(selfManagedCerts ? { selfManagedCerts } : {}),
    ownershipKeySecret: values['ownership-key-secret'],
    ownershipKeyNamespace: values['ownership-key-namespace'],
    ...(values['controller-username'] !== undefined ? { controllerUsername: values['controller-username'] } : {}),
  };
  return { config, problems };
}

async function parseSelfManagedCerts(
  values: ServeValues,
  problems: string[],
): Promise<SelfManagedCertsConfig | undefined> {
  const duration = (flag: keyof typeof values & string) => {
    const text = values[flag] as string;
    const milliseconds = parseDuration(text);
    if (milliseconds === undefined || milliseconds <= 0) problems.push(`--${flag} must be a duration such as 90d, 2m or 30s, got ${text}`);
    return milliseconds ?? 0;
  };
  const secretName = values['cert-secret'];
  if (!secretName) problems.push('--cert-secret is required with --self-managed-certs');
  const namespace =
    values.namespace ??
    process.env.POD_NAMESPACE ??
    (await readFile(inClusterNamespaceFile, 'utf8').then((text) => text.trim(), () => undefined));
  if (!namespace) problems.push('--namespace is required with --self-managed-certs outside a cluster (or set $POD_NAMESPACE)');
  const service = values['service-name'];
  const extra = values['cert-extra-san'] ?? [];
  const config: SelfManagedCertsConfig = {
    secretName: secretName ?? '',
    namespace: namespace ?? '',
    webhookConfigurationNames: values['webhook-configuration'] ?? [],
    // The API server calls a Service webhook by SERVICE.NAMESPACE.svc; the other forms cover in-cluster clients.
    dnsNames: [
      service,
      `${service}.${namespace}`,
      `${service}.${namespace}.svc`,
      `${service}.${namespace}.svc.cluster.local`,
      ...extra.filter((name) => isIP(name) === 0),
    ],
    ipAddresses: extra.filter((name) => isIP(name) !== 0),
    caValidityMs: duration('ca-validity'),
    leafValidityMs: duration('cert-validity'),
    caPropagationDelayMs: duration('ca-propagation-delay'),
    checkIntervalMs: duration('cert-check-interval'),
  };
  if (config.leafValidityMs > config.caValidityMs) problems.push('--cert-validity must not exceed --ca-validity');
  // A replica with a stale read can put the previous bundle back for up to one round; the delay must outlast that.
  if (config.caPropagationDelayMs <= config.checkIntervalMs) {
    problems.push('--ca-propagation-delay must be longer than --cert-check-interval');
  }
  // Renewing the CA takes: a round to notice it is due, one to renew the serving certificate first, the propagation
  // delay, a round to notice it passed, and one for every other replica to copy the result; each round allowed to run
  // a whole interval late. Both renewal windows (a third of the lifetime) must cover that, or a replica can serve a
  // certificate past its expiry.
  const renewalNeedsMs = config.caPropagationDelayMs + 8 * config.checkIntervalMs;
  for (const [flag, validityMs] of [['cert-validity', config.leafValidityMs], ['ca-validity', config.caValidityMs]] as const) {
    if (validityMs > 0 && renewalWindowMs(validityMs) < renewalNeedsMs) {
      problems.push(
        `--${flag} must be at least ${(3 * renewalNeedsMs) / 1_000}s: renewal starts with a third left, which must cover --ca-propagation-delay plus eight --cert-check-interval, got ${values[flag]}`,
      );
    }
  }
  return config;
}

export async function runServe(args: string[]): Promise<number> {
  const config = await parseServeConfig(args);
  const logger = processLogger({ level: config.logLevel, base: { component: 'webhook' } });
  return runManager({ webhooks: config, logger });
}
