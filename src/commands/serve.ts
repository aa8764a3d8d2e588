// `sandbox-storage serve`: the HTTPS admission webhook.
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { access, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { usesNamespaceSelector } from '../admission/select-policy.ts';
import { startSelfManagedCerts } from '../certs/self-managed.ts';
import { kubeConfigSource, loadKubeConfig } from '../k8s/kube-config.ts';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { NamespaceLabelLookup } from '../admission/namespace-labels.ts';
import { claimMetadataLookup } from '../k8s/claim-metadata.ts';
import { podLookup } from '../k8s/pod-lookup.ts';
import { defaultOwnershipKeySecret, ownershipKeySource, type OwnershipKeySource } from '../k8s/ownership-key.ts';
import { selfUsername } from '../k8s/self-identity.ts';
import { auditEventObserver } from '../k8s/audit-events.ts';
import { namespaceLabelLookup } from '../k8s/namespace-labels.ts';
import { writePolicyStatus } from '../k8s/policy-status-writer.ts';
import { embeddedDefaultPolicies } from '../policy/embedded-default.ts';
import { watchClusterPolicies } from '../policy/sources/cluster-source.ts';
import { watchPolicyFiles } from '../policy/sources/file-source.ts';
import { staticPolicySet, type PolicySet } from '../policy/sources/policy-set.ts';
import { admissionMetrics } from '../metrics/admission-metrics.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import { createMetricsRegistry } from '../metrics/registry.ts';
import { startWebhookServer, type WebhookServer } from '../server/webhook-server.ts';
import type { ClaimLookup } from '../admission/plan-types.ts';
import type { Registry } from 'prom-client';
import { ownershipKeyProblems } from './controller-options.ts';
import { parseDuration } from './duration.ts';
import { UsageError } from './usage-error.ts';

export const serveUsage = `Usage: sandbox-storage serve --tls-cert-file FILE --tls-key-file FILE [options]

Serves the mutating (POST /mutate) and validating (POST /validate) admission webhooks over HTTPS, plus /healthz
and /readyz.

Options:
  --tls-cert-file FILE   serving certificate (PEM); reloaded when it changes
  --tls-key-file FILE    its private key (PEM)
  --policy FILE          SandboxStoragePolicy YAML, reloaded when it changes (repeatable)
  --cluster-policies     use the SandboxStoragePolicy objects of the cluster, kept current by a watch
  --write-policy-status  with --cluster-policies: write each policy's status (Ready/Invalid conditions)
                         (without --policy or --cluster-policies: the embedded default policy)
  --host ADDRESS         address to listen on (default 0.0.0.0)
  --port PORT            port to listen on (default 8443; 0 picks a free port)
  --kubeconfig FILE      cluster credentials: namespace and PVC labels, Pods for exec checks (default: in-cluster,
                         then $KUBECONFIG)
  --max-body-bytes N     largest accepted request (default 3145728)
  --metrics-host ADDRESS address of the plain-HTTP /metrics endpoint (default 0.0.0.0)
  --metrics-port PORT    its port (default 9090; 0 picks a free port; none turns it off)
  --log-level LEVEL      trace, debug, info, warn, error (default info)

Ownership of PVCs: the controller proves each PVC it creates with an HMAC under a key kept in a Secret; the
webhooks mount only proven PVCs and refuse PVCs and ephemeral volumes that would plant governed storage.
  --ownership-key-secret NAME     the Secret holding the key; read at start (created with 32 random bytes when
                                  missing, never overwritten) (default sandbox-storage-ownership-key)
  --ownership-key-namespace NS    its namespace (default $POD_NAMESPACE, else sandbox-storage-system)
  --controller-username NAME      the controller's username, the only requester that may create PVCs in the
                                  governed name space or write ownership labels (default: this process's own,
                                  system:serviceaccount:NS:SA in a cluster)

Self-managed certificates (no cert-manager needed): a CA and serving certificate kept in a Secret, renewed
before expiry, the CA bundle patched into the webhook configurations; the files above are written from it.
  --self-managed-certs            enable; needs cluster credentials
  --cert-secret NAME              the Secret holding CA and serving certificate (required with the above)
  --webhook-configuration NAME    mutating/validating webhook configurations to patch (repeatable)
  --namespace NAMESPACE           the Secret's namespace (default $POD_NAMESPACE, then the in-cluster namespace)
  --service-name NAME             the webhook Service; the certificate names NAME.NAMESPACE.svc (default
                                  sandbox-storage-webhook)
  --cert-extra-san NAME|IP        another name or IP address in the certificate (repeatable)
  --ca-validity DURATION          CA lifetime (default 1825d); renewed with a third left
  --cert-validity DURATION        serving certificate lifetime (default 90d); renewed with a third left
  --ca-propagation-delay DURATION wait between publishing a new CA and serving a certificate from it (default 2m)
  --cert-check-interval DURATION  how often the Secret is read and renewal checked (default 1m)
Until leader election is wired in, every replica acts as leader; writes are optimistic, so replicas converge.
`;

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
      'write-policy-status': { type: 'boolean', default: false },
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '8443' },
      kubeconfig: { type: 'string' },
      'max-body-bytes': { type: 'string', default: String(3 * 1024 * 1024) },
      'metrics-host': { type: 'string', default: '0.0.0.0' },
      'metrics-port': { type: 'string', default: '9090' },
      'log-level': { type: 'string', default: 'info' },
      'self-managed-certs': { type: 'boolean', default: false },
      'cert-secret': { type: 'string' },
      'webhook-configuration': { type: 'string', multiple: true },
      namespace: { type: 'string' },
      'service-name': { type: 'string', default: 'sandbox-storage-webhook' },
      'cert-extra-san': { type: 'string', multiple: true },
      'ca-validity': { type: 'string', default: '1825d' },
      'cert-validity': { type: 'string', default: '90d' },
      'ca-propagation-delay': { type: 'string', default: '2m' },
      'cert-check-interval': { type: 'string', default: '1m' },
      'ownership-key-secret': { type: 'string', default: defaultOwnershipKeySecret },
      'ownership-key-namespace': { type: 'string', default: process.env.POD_NAMESPACE || 'sandbox-storage-system' },
      'controller-username': { type: 'string' },
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
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return {
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
    ...(metricsPort === undefined ? {} : { metricsPort }),
    logLevel: values['log-level'],
    ...(selfManagedCerts ? { selfManagedCerts } : {}),
    ownershipKeySecret: values['ownership-key-secret'],
    ownershipKeyNamespace: values['ownership-key-namespace'],
    ...(values['controller-username'] !== undefined ? { controllerUsername: values['controller-username'] } : {}),
  };
}

async function parseSelfManagedCerts(
  values: {
    'cert-secret'?: string;
    'webhook-configuration'?: string[];
    namespace?: string;
    'service-name': string;
    'cert-extra-san'?: string[];
    'ca-validity': string;
    'cert-validity': string;
    'ca-propagation-delay': string;
    'cert-check-interval': string;
  },
  problems: string[],
): Promise<SelfManagedCertsConfig | undefined> {
  const duration = (flag: keyof typeof values & string) => {
    const text = values[flag] as string;
    const milliseconds = parseDuration(text);
    if (milliseconds === undefined) problems.push(`--${flag} must be a duration such as 90d, 2m or 30s, got ${text}`);
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
  return config;
}

async function openPolicySet(config: ServeConfig, logger: Logger, kubeConfig: () => k8s.KubeConfig): Promise<PolicySet> {
  if (config.clusterPolicies) return watchClusterPolicies(kubeConfig(), logger);
  if (config.policyFiles.length > 0) return watchPolicyFiles(config.policyFiles, logger);
  return staticPolicySet(embeddedDefaultPolicies());
}

export interface WebhookStack {
  policySet: PolicySet;
  server: WebhookServer;
  /** Cluster credentials, when configured. */
  kubeConfig?: k8s.KubeConfig;
  stop(): Promise<void>;
}

export interface WebhookStackOptions {
  logger: Logger;
  /** Where admission metrics are recorded; the caller serves it. */
  registry: Registry;
  /** Whether this replica may write shared state (policy status, certificate Secret). */
  isLeader: () => boolean;
  /** Observed PVCs (run: the controller's watch cache); without it every sandbox Pod is gated. */
  claims?: () => ClaimLookup | undefined;
  /** The ownership key (run: shared with the controller); without it, one is read from the flags' Secret. */
  ownershipKey?: OwnershipKeySource;
}

/** The admission webhooks with everything they read: policies, cluster lookups, certificates, status. */
export async function startWebhookStack(config: ServeConfig, options: WebhookStackOptions): Promise<WebhookStack> {
  const { logger, registry, isLeader } = options;
  const hasCluster = kubeConfigSource(config.kubeconfig) !== undefined;
  if (config.selfManagedCerts && !hasCluster) {
    throw new UsageError('--self-managed-certs keeps its certificate in a Secret: run in-cluster, or give --kubeconfig or $KUBECONFIG');
  }
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
  // With cluster access, /validate also confirms PVC ownership labels and judges exec/attach/portforward.
  if (!hasCluster) {
    logger.warn('no cluster credentials: /validate recognises governed PVCs by name only, and cannot check exec/attach/portforward');
  }
  const lookups = hasCluster ? { claimMetadata: claimMetadataLookup(cluster(), logger), pod: podLookup(cluster(), logger) } : {};
  // The ownership key: without cluster access nothing can be proven, and existing PVCs of planned names are refused.
  const ownedKey =
    hasCluster && !options.ownershipKey
      ? ownershipKeySource({
          kubeConfig: cluster(),
          namespace: config.ownershipKeyNamespace,
          secretName: config.ownershipKeySecret,
          logger: logger.child({ component: 'ownership-key' }),
        })
      : undefined;
  const ownershipKey = options.ownershipKey ?? ownedKey;
  let controllerUsername = config.controllerUsername;
  let usernameRetry: NodeJS.Timeout | undefined;
  if (controllerUsername === undefined && hasCluster) {
    // Until known, nobody but exempt requesters may create PVCs in the governed name space (fail closed).
    const learnUsername = () =>
      selfUsername(cluster()).then(
        (username) => {
          controllerUsername = username;
          logger.info({ controllerUsername: username }, 'controller username: this process\'s own');
        },
        (error: unknown) => {
          logger.warn({ err: error }, 'cannot learn this process\'s username (retrying; or give --controller-username): PVCs in the governed name space are refused meanwhile');
          usernameRetry = setTimeout(learnUsername, 10_000);
          usernameRetry.unref();
        },
      );
    void learnUsername();
  }
  const metrics = admissionMetrics(registry);
  const auditEvents = hasCluster ? auditEventObserver(cluster(), logger, process.env.POD_NAME ?? hostname()) : undefined;
  metrics.setPolicies(policySet.states());
  policySet.onChange(() => metrics.setPolicies(policySet.states()));
  const certificates = config.selfManagedCerts
    ? await startSelfManagedCerts({
        ...config.selfManagedCerts,
        kubeConfig: cluster(),
        certFile: config.certFile,
        keyFile: config.keyFile,
        isLeader,
        logger: logger.child({ component: 'certificates' }),
      })
    : undefined;
  const server = await startWebhookServer({
    tls: { certFile: config.certFile, keyFile: config.keyFile },
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    sources: () => {
      const claims = options.claims?.();
      const key = ownershipKey?.current();
      return {
        policies: policySet.current(),
        namespaceLabels,
        ...lookups,
        ...(claims ? { claims } : {}),
        ...(key ? { ownershipKey: key } : {}),
        ...(controllerUsername !== undefined ? { controllerUsername } : {}),
        ...(ownershipKey ? { onUnproven: () => ownershipKey.unproven() } : {}),
      };
    },
    isReady: () => policySet.ready(),
    logger,
    observe: (webhook, outcome, seconds) => {
      metrics.observe(webhook, outcome, seconds);
      auditEvents?.(webhook, outcome);
    },
    onCertificate: (pem) => metrics.setCertificateExpiry(new Date(new X509Certificate(pem).validTo)),
  });
  const statusWriter = config.writePolicyStatus ? writePolicyStatus(cluster(), policySet, isLeader, logger) : undefined;
  const logPolicies = () => logger.info({ policies: policySet.current().map((policy) => policy.name) }, 'policies loaded');
  logPolicies();
  policySet.onChange(logPolicies);
  return {
    policySet,
    server,
    ...(kubeConfig ? { kubeConfig } : {}),
    async stop() {
      statusWriter?.stop();
      certificates?.stop();
      ownedKey?.stop();
      clearTimeout(usernameRetry);
      await server.stop();
      await policySet.stop();
    },
  };
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

export async function runServe(args: string[]): Promise<number> {
  const config = await parseServeConfig(args);
  const logger = pino({ level: config.logLevel, base: { component: 'webhook' } });
  const registry = createMetricsRegistry();
  // Bound first, so that a taken port fails the start before the webhook announces itself.
  const metricsServer =
    config.metricsPort === undefined ? undefined : await startMetricsServer(registry, config.metricsHost, config.metricsPort, logger);
  // No leader election in this command: every replica computes the same status and certificates converge
  // through optimistic concurrency (see self-managed.ts). `run` elects a leader.
  const stack = await startWebhookStack(config, { logger, registry, isLeader: () => true });
  await waitForTermination(logger);
  await stack.stop();
  await metricsServer?.stop();
  return 0;
}
