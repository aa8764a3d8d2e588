// Harness for the isolation tests: the webhook server with PVC label look-ups against the test cluster, the shipped
// ValidatingWebhookConfiguration pointed at it, impersonated requesters, and the RBAC they need.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { claimMetadataLookup } from '../../src/kube/claim-metadata.ts';
import { podLookup } from '../../src/kube/pod-lookup.ts';
import { namespaceTerminatingLookup } from '../../src/kube/namespace-phase.ts';
import type { Policy } from '../../src/policy/types.ts';
import { startTestWebhook, type RunningWebhook } from './webhook.ts';
import { waitFor } from './wait.ts';

const shippedConfiguration = new URL('../../deploy/manifests/validating-webhook.yaml', import.meta.url);

/** Like startTestWebhook, plus the cluster look-ups (PVC ownership labels, Pods for exec) `serve` enables with credentials. */
export async function startIsolationWebhook(policies: Policy[], kubeConfig: k8s.KubeConfig): Promise<RunningWebhook> {
  const logger = pino({ level: 'silent' });
  return startTestWebhook(policies, logger, {
    claimMetadata: claimMetadataLookup(kubeConfig, logger),
    pod: podLookup(kubeConfig, logger),
    namespaceTerminating: namespaceTerminatingLookup(kubeConfig, logger),
  });
}

/** The shipped ValidatingWebhookConfiguration, pointed at a local URL. */
export function shippedValidatingWebhook(name: string, url: string, caPem: string): k8s.V1ValidatingWebhookConfiguration {
  const configuration = parseYaml(readFileSync(shippedConfiguration, 'utf8')) as k8s.V1ValidatingWebhookConfiguration;
  configuration.metadata = { ...configuration.metadata, name };
  for (const webhook of configuration.webhooks ?? []) {
    webhook.clientConfig = { url: `${url}${webhook.clientConfig.service?.path ?? '/'}`, caBundle: Buffer.from(caPem).toString('base64') };
  }
  return configuration;
}

export async function registerValidatingWebhook(
  kubeConfig: k8s.KubeConfig,
  configuration: k8s.V1ValidatingWebhookConfiguration,
): Promise<() => Promise<void>> {
  const admission = kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);
  await admission.createValidatingWebhookConfiguration({ body: configuration });
  const name = configuration.metadata?.name as string;
  return async () => {
    await admission.deleteValidatingWebhookConfiguration({ name }).catch((error: unknown) => {
      if (!(error instanceof k8s.ApiException && error.code === 404)) throw error;
    });
  };
}

export interface Requester {
  username: string;
  /** At most one group: the header is set once per request. */
  group?: string;
}

/** A KubeConfig whose requests the API server treats as coming from `requester` (Impersonate-User/-Group headers). */
class ImpersonatingKubeConfig extends k8s.KubeConfig {
  private readonly requester: Requester;
  constructor(requester: Requester) {
    super();
    this.requester = requester;
  }
  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam('Impersonate-User', this.requester.username);
    if (this.requester.group !== undefined) context.setHeaderParam('Impersonate-Group', this.requester.group);
  }
  // What src/kube's own transport (api-transport.ts) authenticates its requests and watches with.
  override async applyToHTTPSOptions(options: Parameters<k8s.KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
    await super.applyToHTTPSOptions(options);
    const target = options as { headers?: Record<string, unknown> };
    target.headers = { ...target.headers, 'Impersonate-User': this.requester.username };
    if (this.requester.group !== undefined) target.headers['Impersonate-Group'] = this.requester.group;
  }
}

export function impersonating(admin: k8s.KubeConfig, requester: Requester): k8s.KubeConfig {
  const config = new ImpersonatingKubeConfig(requester);
  config.loadFromString(admin.exportConfig());
  return config;
}

/** What a tenant (or the platform) may do with Pods in `namespace`: create, update, debug. */
export async function grantPodAccess(
  admin: k8s.KubeConfig,
  namespace: string,
  subjects: k8s.RbacV1Subject[],
): Promise<void> {
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'sandbox-users' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'update', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['get', 'update', 'patch'] },
        { apiGroups: [''], resources: ['pods/exec', 'pods/attach', 'pods/portforward'], verbs: ['get', 'create'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'sandbox-users' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'sandbox-users' },
      subjects,
    },
  });
}

/** Waits until a dry-run create of `probe` is refused by the validating webhook, so the tests run against it. */
export async function waitUntilValidatingWebhookActive(kubeConfig: k8s.KubeConfig, namespace: string, probe: k8s.V1Pod): Promise<void> {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  await waitFor(
    async () => {
      try {
        await core.createNamespacedPod({ namespace, body: structuredClone(probe), dryRun: 'All' });
        return false;
      } catch (error) {
        return error instanceof k8s.ApiException && String(error.body).includes('validate.sandbox-storage.io');
      }
    },
    { description: 'the API server to call the validating webhook', timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** The code and message of the API server's refusal of `attempt`; fails when it was not refused. */
export async function refusal(attempt: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      const status = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
      return { code: error.code, message: status.message as string };
    }
    throw error;
  }
  throw new Error('expected the API server to refuse the request');
}
