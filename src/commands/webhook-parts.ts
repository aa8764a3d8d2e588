// The webhook side of the manager (serve, run) as parts. Always on: the policy source, the cluster look-ups the
// webhooks read, the certificate reload (self-managed certificates) and the HTTPS server with admission metrics and
// audit Events. Leader-only: the certificate renewal (Secret, CA bundles) and the policy status writer.
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
import { namespaceLabelLookup } from '../kube/namespace-labels.ts';
import type { OwnershipKeySource } from '../kube/ownership-key.ts';
import { namespaceTerminatingLookup } from '../kube/namespace-phase.ts';
import { podLookup } from '../kube/pod-lookup.ts';
import { writePolicyStatus, type PolicyStatusWriter } from '../kube/policy-status-writer.ts';
import { startCertificateReload, startCertificateRenewal, type CertificateReload, type CertificateRenewal } from '../kube/self-managed-certs.ts';
import { selfUsername } from '../kube/self-identity.ts';
import { admissionMetrics } from '../metrics/admission-metrics.ts';
import { embeddedDefaultPolicies } from '../policy/embedded-default.ts';
import { usesNamespaceSelector } from '../policy/select-policy.ts';
import { watchPolicyFiles } from '../policy/sources/file-source.ts';
import { staticPolicySet, type PolicySet } from '../policy/sources/policy-set.ts';
import type { Policy } from '../policy/types.ts';
import { startWebhookServer, type WebhookServer } from '../webhook/webhook-server.ts';
import type { Part } from './parts.ts';
import type { ServeConfig } from './serve.ts';
import { UsageError } from './usage-error.ts';

export interface WebhookParts {
  /** In start order. */
  alwaysOn: Part[];
  leaderOnly: Part[];
  /** The policies in force ([] before the policy source is up). */
  policies(): readonly Policy[];
  /** Runs `listener` on every change of the policies (also those of a source opened later); returns its removal. */
  onPoliciesChange(listener: () => void): () => void;
  /** The HTTPS port, once listening. */
  port(): number | undefined;
}

export interface WebhookPartsOptions {
  logger: Logger;
  /** Where admission metrics are recorded; the caller serves it. */
  registry: Registry;
  /** Cluster credentials (loaded on first use); undefined without any. */
  cluster?: () => k8s.KubeConfig;
  /** Observed PVCs (run: the controller's watch cache); without it every sandbox Pod is gated. */
  claims?: () => ClaimLookup | undefined;
  /** The ownership key, once its part is up; without cluster access there is none. */
  ownershipKey: () => OwnershipKeySource | undefined;
  /** Whether the controller runs in this process (run); serve warns on Pods that need it. */
  withController?: boolean;
}

const needsCluster = 'run in-cluster, or give --kubeconfig or $KUBECONFIG';
/** Synthetic admissions before listening (≈ 0.3 s of start-up): enough for V8 to optimise the review path. */
const admissionWarmUpRounds = 2_000;

/** The admission webhooks with everything they read: policies, cluster look-ups, certificates, status. */
export function webhookParts(config: ServeConfig, options: WebhookPartsOptions): WebhookParts {
  const { logger, registry, cluster } = options;
  if (config.selfManagedCerts && !cluster) throw new UsageError(`--self-managed-certs keeps its certificate in a Secret: ${needsCluster}`);
  if (config.clusterPolicies && !cluster) throw new UsageError(`--cluster-policies needs cluster access: ${needsCluster}`);
  const metrics = admissionMetrics(registry);
  let policySet: PolicySet | undefined;
  const policyListeners: Array<() => void> = [];
  let server: WebhookServer | undefined;
  const alwaysOn: Part[] = [];
  const leaderOnly: Part[] = [];

  alwaysOn.push({
    name: 'policy source',
    async start() {
      let opened: PolicySet;
      try {
        if (config.clusterPolicies && cluster) opened = await watchClusterPolicies(cluster(), logger);
        else if (config.policyFiles.length > 0) opened = await watchPolicyFiles(config.policyFiles, logger);
        else opened = staticPolicySet(embeddedDefaultPolicies());
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      if (usesNamespaceSelector(opened.current()) && !cluster) {
        await opened.stop();
        throw new UsageError(`a policy has a namespaceSelector, which needs namespace labels from the cluster: ${needsCluster}`);
      }
      policySet = opened;
      const loaded = () => {
        metrics.setPolicies(opened.states());
        logger.info({ policies: opened.current().map((policy) => policy.name) }, 'policies loaded');
      };
      loaded();
      opened.onChange(loaded);
      opened.onChange(() => {
        for (const listener of policyListeners) listener();
      });
      for (const listener of policyListeners) listener();
    },
    async stop() {
      await policySet?.stop();
    },
  });

  if (config.selfManagedCerts && cluster) {
    const certificates = { ...config.selfManagedCerts, kubeConfig: cluster(), logger: logger.child({ component: 'certificates' }) };
    let reload: CertificateReload | undefined;
    let renewal: CertificateRenewal | undefined;
    alwaysOn.push({
      name: 'certificate reload',
      waitsForLeader: true,
      async start() {
        reload = startCertificateReload({ ...certificates, certFile: config.certFile, keyFile: config.keyFile });
        await reload.ready;
      },
      async stop() {
        reload?.stop();
      },
    });
    leaderOnly.push({
      name: 'certificate renewal',
      async start() {
        // A Secret written here is copied into this replica's files at once, not on the reload's next round.
        renewal = startCertificateRenewal({ ...certificates, onWritten: () => void reload?.syncNow() });
      },
      async stop() {
        renewal?.stop();
      },
    });
  }

  const onPoliciesChange = (listener: () => void) => {
    policyListeners.push(listener);
    return () => {
      const index = policyListeners.indexOf(listener);
      if (index >= 0) policyListeners.splice(index, 1);
    };
  };

  let stopServing = async () => {};
  alwaysOn.push({
    name: 'webhook server',
    async start() {
      const policies = policySet as PolicySet;
      // A policy reloaded later may bring a namespaceSelector; without credentials such Pods fail closed.
      const namespaceLabels: NamespaceLabelLookup = cluster
        ? namespaceLabelLookup(cluster(), logger)
        : async () => {
            throw new Error('a policy has a namespaceSelector, but this server has no cluster credentials');
          };
      // With cluster access, /validate also confirms PVC ownership labels and judges exec/attach/portforward.
      if (!cluster) {
        logger.warn('no cluster credentials: /validate recognises governed PVCs by name only, and cannot check exec/attach/portforward');
      }
      const lookups = cluster
        ? { claimMetadata: claimMetadataLookup(cluster(), logger), pod: podLookup(cluster(), logger), namespaceTerminating: namespaceTerminatingLookup(cluster(), logger) }
        : {};
      const username = learnControllerUsername(config, cluster, logger);
      const auditEvents = cluster ? auditEventObserver(cluster(), logger, process.env.POD_NAME ?? hostname()) : undefined;
      stopServing = async () => {
        username.stop();
        await server?.stop();
      };
      server = await startWebhookServer({
        tls: { certFile: config.certFile, keyFile: config.keyFile },
        host: config.host,
        port: config.port,
        reusePort: config.reusePort,
        maxBodyBytes: config.maxBodyBytes,
        warmUpRounds: admissionWarmUpRounds,
        sources: () => {
          const claims = options.claims?.();
          const ownershipKey = options.ownershipKey();
          const key = ownershipKey?.current();
          const controllerUsername = username.current();
          return {
            policies: policies.current(),
            namespaceLabels,
            ...lookups,
            ...(claims ? { claims } : {}),
            ...(key ? { ownershipKey: key } : {}),
            ...(controllerUsername !== undefined ? { controllerUsername } : {}),
            // A controller username given to serve names a controller that runs apart (a split install).
            ...(options.withController || config.controllerUsername !== undefined ? {} : { withoutController: true }),
            ...(ownershipKey ? { onUnproven: () => ownershipKey.unproven() } : {}),
          };
        },
        isReady: () => policies.ready(),
        logger,
        observe: (webhook, outcome, seconds) => {
          metrics.observe(webhook, outcome, seconds);
          auditEvents?.(webhook, outcome);
        },
        onCertificate: (pem) => metrics.setCertificateExpiry(new Date(new X509Certificate(pem).validTo)),
      });
    },
    stop: () => stopServing(),
  });

  if (config.writePolicyStatus && cluster) {
    let writer: PolicyStatusWriter | undefined;
    leaderOnly.push({
      name: 'policy status writer',
      async start() {
        if (policySet) writer = writePolicyStatus(cluster(), policySet, logger);
      },
      async stop() {
        writer?.stop();
      },
    });
  }

  return { alwaysOn, leaderOnly, policies: () => policySet?.current() ?? [], onPoliciesChange, port: () => server?.address.port };
}

/** The username whose PVC creations are the controller's: the flag's, or this process's own, learnt with retries. */
function learnControllerUsername(config: ServeConfig, cluster: (() => k8s.KubeConfig) | undefined, logger: Logger): { current(): string | undefined; stop(): void } {
  let username = config.controllerUsername;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  if (username === undefined && cluster) {
    // Until known, nobody but exempt requesters may create PVCs in the governed name space (fail closed).
    const learn = () =>
      selfUsername(cluster()).then(
        (learnt) => {
          username = learnt;
          logger.info({ controllerUsername: learnt }, 'controller username: this process\'s own');
        },
        (error: unknown) => {
          if (stopped) return;
          logger.warn({ err: error }, 'cannot learn this process\'s username (retrying; or give --controller-username): PVCs in the governed name space are refused meanwhile');
          retry = setTimeout(learn, 10_000);
          retry.unref();
        },
      );
    void learn();
  }
  return {
    current: () => username,
    stop() {
      stopped = true;
      clearTimeout(retry);
    },
  };
}
