// Runs the webhook server on 127.0.0.1 with a throwaway certificate and registers it with a test control plane,
// using the webhook settings that deploy/ ships (only clientConfig differs: a local URL and our CA).
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import type { AdmissionOutcome, AdmissionSources } from '../../src/webhook/review.ts';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import type { ClaimLookup } from '../../src/admission/plan-types.ts';
import type { PolicySet } from '../../src/policy/sources/policy-set.ts';
import type { Policy } from '../../src/policy/types.ts';
import { startWebhookServer, type WebhookServer } from '../../src/webhook/webhook-server.ts';
import { writeServingCertificate, type ServingCertificate } from './tls.ts';
import { waitFor } from './wait.ts';

const shippedConfiguration = new URL('../../deploy/manifests/mutating-webhook.yaml', import.meta.url);

export interface RunningWebhook {
  server: WebhookServer;
  tls: ServingCertificate;
  url: string;
  /** Every admission the server answered, in order. */
  outcomes: AdmissionOutcome[];
  setPolicies(policies: Policy[]): void;
  /** What the webhook knows about existing PVCs (an informer cache in production); undefined = nothing. */
  setClaims(claims: ClaimLookup | undefined): void;
  /** The ownership key and controller username the webhook judges PVCs with (serve: from the cluster). */
  setOwnership(ownership: Pick<AdmissionSources, 'ownershipKey' | 'controllerUsername'>): void;
  stop(): Promise<void>;
}

/** `lookups`: the cluster look-ups `serve` enables with credentials (PVC labels, Pods), when a test needs them. */
export async function startTestWebhook(
  policies: Policy[],
  logger: Logger = pino({ level: 'silent' }),
  lookups: Pick<AdmissionSources, 'claimMetadata' | 'pod' | 'namespaceTerminating' | 'ownershipKey' | 'controllerUsername'> = {},
): Promise<RunningWebhook> {
  const tls = await writeServingCertificate();
  const outcomes: AdmissionOutcome[] = [];
  let sources: AdmissionSources = { policies, namespaceLabels: staticNamespaceLabels(undefined), ...lookups };
  const server = await startWebhookServer({
    tls: { certFile: tls.certFile, keyFile: tls.keyFile },
    host: '127.0.0.1',
    port: 0,
    sources: () => sources,
    logger,
    observe: (_webhook, outcome) => outcomes.push(outcome),
  });
  return {
    server,
    tls,
    url: `https://127.0.0.1:${server.address.port}`,
    outcomes,
    setPolicies(next) {
      sources = { ...sources, policies: next };
    },
    setOwnership(ownership) {
      sources = { ...sources, ...ownership };
    },
    setClaims(claims) {
      const { claims: _previous, ...rest } = sources;
      sources = claims ? { ...rest, claims } : rest;
    },
    async stop() {
      await server.stop();
      await tls.remove();
    },
  };
}

/**
 * The webhook server on a live policy set (as serve runs with --cluster-policies), ready when the set is, and
 * registered with the shipped mutating configuration. `stop` stops the server and removes its certificate's directory.
 */
export async function startLivePolicyWebhook(
  kubeConfig: k8s.KubeConfig,
  policies: PolicySet,
  logger: Logger,
  observe?: (webhook: 'mutate' | 'validate', outcome: AdmissionOutcome, durationSeconds: number) => void,
): Promise<{ tls: ServingCertificate; stop(): Promise<void> }> {
  const tls = await writeServingCertificate();
  const server = await startWebhookServer({
    tls: { certFile: tls.certFile, keyFile: tls.keyFile },
    host: '127.0.0.1',
    port: 0,
    sources: () => ({ policies: policies.current(), namespaceLabels: staticNamespaceLabels(undefined) }),
    isReady: () => policies.ready(),
    logger,
    ...(observe ? { observe } : {}),
  });
  await registerMutatingWebhook(kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', `https://127.0.0.1:${server.address.port}`, tls.caPem));
  return {
    tls,
    async stop() {
      await server.stop();
      await tls.remove();
    },
  };
}

/** The shipped MutatingWebhookConfiguration, pointed at a local URL. */
export function shippedMutatingWebhook(
  name: string,
  url: string,
  caPem: string,
): k8s.V1MutatingWebhookConfiguration {
  const configuration = parseYaml(readFileSync(shippedConfiguration, 'utf8')) as k8s.V1MutatingWebhookConfiguration;
  configuration.metadata = { ...configuration.metadata, name };
  for (const webhook of configuration.webhooks ?? []) {
    webhook.clientConfig = { url: `${url}${webhook.clientConfig.service?.path ?? '/'}`, caBundle: Buffer.from(caPem).toString('base64') };
  }
  return configuration;
}

export async function registerMutatingWebhook(
  kubeConfig: k8s.KubeConfig,
  configuration: k8s.V1MutatingWebhookConfiguration,
): Promise<() => Promise<void>> {
  const admission = kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);
  await admission.createMutatingWebhookConfiguration({ body: configuration });
  const name = configuration.metadata?.name as string;
  return async () => {
    await admission.deleteMutatingWebhookConfiguration({ name }).catch((error: unknown) => {
      if (!(error instanceof k8s.ApiException && error.code === 404)) throw error;
    });
  };
}

/**
 * The API server picks up webhook configurations asynchronously: wait until a dry-run create of `probe` comes back
 * changed by the webhook, so the first real request of a test is already intercepted.
 */
export async function waitUntilWebhookActive(
  kubeConfig: k8s.KubeConfig,
  namespace: string,
  probe: k8s.V1Pod,
  isMutated: (pod: k8s.V1Pod) => boolean,
): Promise<void> {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  await waitFor(
    async () => isMutated(await core.createNamespacedPod({ namespace, body: structuredClone(probe), dryRun: 'All' })),
    { description: 'the API server to call the registered webhook', timeoutMs: 60_000, intervalMs: 200 },
  );
}

/**
 * Registers a webhook server at `url` with the shipped settings and waits until the API server calls it for
 * `probe.pod` in `probe.namespace`. Returns the unregister function, for the test's cleanups.
 */
export async function registerShippedWebhook(
  kubeConfig: k8s.KubeConfig,
  server: { url: string; caPem: string },
  probe: { namespace: string; pod: k8s.V1Pod; isMutated?: (pod: k8s.V1Pod) => boolean },
): Promise<() => Promise<void>> {
  const unregister = await registerMutatingWebhook(kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', server.url, server.caPem));
  const injected = (pod: k8s.V1Pod) => (pod.spec?.volumes ?? []).some((volume) => volume.name.startsWith('sandbox-storage-'));
  await waitUntilWebhookActive(kubeConfig, probe.namespace, probe.pod, probe.isMutated ?? injected);
  return unregister;
}
