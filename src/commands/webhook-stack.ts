// The webhook stack, the always-on half of the manager (serve, run): the policy source, the cluster look-ups the
// webhooks read, the ownership key, admission metrics and audit Events, self-managed certificates and the policy
// status writer (those two act only while `isLeader`), and the HTTPS server.
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NamespaceLabelLookup } from '../admission/namespace-labels.ts';
import type { ClaimLookup } from '../admission/plan-types.ts';
import { auditEventObserver } from '../kube/audit-events.ts';
import { claimMetadataLookup } from '../kube/claim-metadata.ts';
import { watchClusterPolicies } from '../kube/cluster-policy-source.ts';
import { kubeConfigSource, loadKubeConfig } from '../kube/kube-config.ts';
import { namespaceLabelLookup } from '../kube/namespace-labels.ts';
import { ownershipKeySource, type OwnershipKeySource } from '../kube/ownership-key.ts';
import { podLookup } from '../kube/pod-lookup.ts';
import { writePolicyStatus } from '../kube/policy-status-writer.ts';
import { startSelfManagedCerts } from '../kube/self-managed-certs.ts';
import { selfUsername } from '../kube/self-identity.ts';
import { admissionMetrics } from '../metrics/admission-metrics.ts';
import { embeddedDefaultPolicies } from '../policy/embedded-default.ts';
import { usesNamespaceSelector } from '../policy/select-policy.ts';
import { watchPolicyFiles } from '../policy/sources/file-source.ts';
import { staticPolicySet, type PolicySet } from '../policy/sources/policy-set.ts';
import { startWebhookServer, type WebhookServer } from '../webhook/webhook-server.ts';
import type { ServeConfig } from './serve.ts';
import { UsageError } from './usage-error.ts';

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
    reusePort: config.reusePort,
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
