// Self-managed webhook certificates: no cert-manager, no manual step.
//
// The leader keeps a CA and a serving certificate in one Secret (creating, rotating and pruning it, see
// rotation-plan.ts) and patches the CA bundle into the webhook configurations it names. Every replica, leader or
// not, copies the Secret's serving certificate into the files the HTTPS server reloads, so no replica restarts.
//
// Every write is optimistic (create answers 409 when another replica was first, update carries the resourceVersion
// it read), so several replicas that all consider themselves leader still converge on one Secret.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { alternativeNames, certificateFacts, isSignedBy, joinPemBundle, splitPemBundle } from '../certs/inspect.ts';
import { createCertificateAuthority, loadCertificateAuthority, type CertificateAuthority } from '../certs/issue.ts';
import { planRotation, type RotationSettings, type RotationStep, type StoredCertificates } from '../certs/rotation-plan.ts';
import { caRotatedAtAnnotation, managedByValue, ownershipLabels } from '../labels.ts';
import { isNotFound, isConflict } from './api-errors.ts';

const day = 24 * 60 * 60 * 1000;

export interface SelfManagedCertsOptions extends RotationSettings {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  secretName: string;
  /** Mutating and/or validating webhook configurations of this name get the CA bundle. */
  webhookConfigurationNames: string[];
  dnsNames: string[];
  ipAddresses: string[];
  /** Where the serving certificate and key are written for the HTTPS server. */
  certFile: string;
  keyFile: string;
  /** Only the leader writes the Secret and patches webhook configurations. */
  isLeader: () => boolean;
  /** How often the Secret is read (and, on the leader, renewed when due). */
  checkIntervalMs: number;
  logger: Logger;
  now?: () => number;
}

export interface SelfManagedCerts {
  /** The CA bundle last seen in the Secret. */
  caBundle(): string | undefined;
  /** Runs one read-renew-patch-write round now (also runs on the interval). */
  syncNow(): Promise<void>;
  stop(): void;
}

interface StoredSecret {
  resourceVersion: string | undefined;
  caBundle: string;
  caKey: string;
  tlsCert: string;
  tlsKey: string;
  caRotatedAt: number | undefined;
}

/**
 * Waits until the serving certificate files exist (created by this process as leader, or copied from the Secret
 * another replica created), then keeps them and the webhook configurations current until stop().
 */
export async function startSelfManagedCerts(options: SelfManagedCertsOptions): Promise<SelfManagedCerts> {
  const { logger } = options;
  const core = options.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const admission = options.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api);
  const now = options.now ?? Date.now;
  let lastWritten: string | undefined;
  let lastBundle: string | undefined;
  let running: Promise<void> | undefined;

  const readSecret = async (): Promise<StoredSecret | undefined> => {
    try {
      const secret = await core.readNamespacedSecret({ name: options.secretName, namespace: options.namespace });
      return decodeSecret(secret);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };

  const leaderRound = async (stored: StoredSecret | undefined): Promise<StoredSecret | undefined> => {
    const step = planRotation(await describe(stored, options), now(), options);
    if (step.action === 'none') return stored;
    const next = await carryOut(step, stored, options, now());
    const body = encodeSecret(options, next);
    try {
      if (stored === undefined) {
        await core.createNamespacedSecret({ namespace: options.namespace, body });
      } else {
        body.metadata = { ...body.metadata, resourceVersion: stored.resourceVersion };
        await core.replaceNamespacedSecret({ name: options.secretName, namespace: options.namespace, body });
      }
    } catch (error) {
      // Another replica wrote first: its version wins, and the next round starts from it.
      if (isConflict(error)) {
        logger.info({ secret: options.secretName, step: step.action }, 'certificate Secret changed concurrently: re-reading');
        return readSecret();
      }
      throw error;
    }
    logger.info({ secret: options.secretName, step: step.action, reason: step.reason }, 'webhook certificates updated');
    return readSecret();
  };

  const patchCaBundles = async (bundle: string) => {
    const encoded = Buffer.from(bundle).toString('base64');
    for (const name of options.webhookConfigurationNames) {
      for (const kind of ['mutating', 'validating'] as const) {
        const configuration = await readConfiguration(admission, kind, name);
        if (configuration === undefined) continue;
        const operations = (configuration.webhooks ?? []).flatMap((webhook, index) =>
          webhook.clientConfig.caBundle === encoded
            ? []
            : [
                // Guards against the list changing (e.g. an upgrade) between our read and this patch.
                { op: 'test', path: `/webhooks/${index}/name`, value: webhook.name },
                { op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: encoded },
              ],
        );
        if (operations.length === 0) continue;
        const patchOptions = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
        if (kind === 'mutating') await admission.patchMutatingWebhookConfiguration({ name, body: operations }, patchOptions);
        else await admission.patchValidatingWebhookConfiguration({ name, body: operations }, patchOptions);
        logger.info({ kind: `${kind}webhookconfiguration`, name }, 'CA bundle patched into webhook configuration');
      }
    }
  };

  const writeFiles = async (stored: StoredSecret) => {
    const fingerprint = stored.tlsCert + stored.tlsKey;
    if (fingerprint === lastWritten) return;
    // Key first, each by rename: the server's reload debounces and validates the pair, so it never serves a mix.
    await writeAtomically(options.keyFile, stored.tlsKey, 0o600);
    await writeAtomically(options.certFile, stored.tlsCert, 0o644);
    lastWritten = fingerprint;
    logger.info({ certFile: options.certFile }, 'serving certificate written from Secret');
  };

  const round = async (): Promise<boolean> => {
    let stored = await readSecret();
    if (options.isLeader()) {
      stored = await leaderRound(stored);
      if (stored) await patchCaBundles(stored.caBundle);
    }
    if (stored === undefined) return false;
    lastBundle = stored.caBundle;
    await writeFiles(stored);
    return true;
  };

  const syncNow = () => {
    running ??= round()
      .then(
        () => undefined,
        (error: unknown) => {
          logger.warn({ err: error, secret: options.secretName }, 'certificate sync failed: retrying on the next round');
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  // Startup: the server cannot listen before its certificate exists, so errors here are retried until it does.
  let stopped = false;
  for (;;) {
    try {
      if (await round()) break;
      logger.info({ secret: options.secretName }, 'waiting for the leader to create the certificate Secret');
    } catch (error) {
      logger.warn({ err: error, secret: options.secretName }, 'certificate sync failed: retrying');
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.checkIntervalMs, 2_000)));
  }
  const timer = setInterval(() => {
    if (!stopped) void syncNow();
  }, options.checkIntervalMs);
  timer.unref();
  return {
    caBundle: () => lastBundle,
    syncNow,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

async function readConfiguration(
  admission: k8s.AdmissionregistrationV1Api,
  kind: 'mutating' | 'validating',
  name: string,
): Promise<k8s.V1MutatingWebhookConfiguration | k8s.V1ValidatingWebhookConfiguration | undefined> {
  try {
    return kind === 'mutating'
      ? await admission.readMutatingWebhookConfiguration({ name })
      : await admission.readValidatingWebhookConfiguration({ name });
  } catch (error) {
    // The validating configuration is optional in the chart; a missing one has no bundle to carry.
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function decodeSecret(secret: k8s.V1Secret): StoredSecret | undefined {
  const field = (key: string) => {
    const value = secret.data?.[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  const [caBundle, caKey, tlsCert, tlsKey] = ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'].map(field);
  const rotatedAt = Date.parse(secret.metadata?.annotations?.[caRotatedAtAnnotation] ?? '');
  // A Secret of the right name without our fields is treated as unusable and gets overwritten by the leader.
  return {
    resourceVersion: secret.metadata?.resourceVersion,
    caBundle: caBundle ?? '',
    caKey: caKey ?? '',
    tlsCert: tlsCert ?? '',
    tlsKey: tlsKey ?? '',
    caRotatedAt: Number.isNaN(rotatedAt) ? undefined : rotatedAt,
  };
}

function wantedNames(options: Pick<SelfManagedCertsOptions, 'dnsNames' | 'ipAddresses'>): string[] {
  return [...options.dnsNames.map((name) => `dns:${name}`), ...options.ipAddresses.map((address) => `ip:${address}`)].sort();
}

/** The facts rotation decides on; undefined when the Secret is missing or cannot be parsed. */
async function describe(
  stored: StoredSecret | undefined,
  options: SelfManagedCertsOptions,
): Promise<StoredCertificates | undefined> {
  if (stored === undefined) return undefined;
  try {
    const bundle = splitPemBundle(stored.caBundle);
    const currentCa = bundle[0];
    if (currentCa === undefined || stored.caKey === '' || stored.tlsKey === '') return undefined;
    const ca = await certificateFacts(currentCa);
    const leaf = await certificateFacts(stored.tlsCert);
    const bundleFacts = await Promise.all(bundle.map(certificateFacts));
    const now = options.now?.() ?? Date.now();
    return {
      caNotAfter: ca.notAfter.getTime(),
      leafNotAfter: leaf.notAfter.getTime(),
      leafSignedByCurrentCa: await isSignedBy(stored.tlsCert, currentCa),
      caRotatedAt: stored.caRotatedAt,
      expiredBundleCertificates: bundleFacts.filter((facts) => facts.notAfter.getTime() <= now).length,
      leafNamesMatch: JSON.stringify(alternativeNames(stored.tlsCert)) === JSON.stringify(wantedNames(options)),
    };
  } catch {
    return undefined;
  }
}

async function carryOut(
  step: RotationStep,
  stored: StoredSecret | undefined,
  options: SelfManagedCertsOptions,
  now: number,
): Promise<Omit<StoredSecret, 'resourceVersion'>> {
  const issueLeaf = (ca: CertificateAuthority) =>
    ca.issue({
      commonName: options.dnsNames[0] ?? options.secretName,
      dnsNames: options.dnsNames,
      ipAddresses: options.ipAddresses,
      usage: 'server',
      validDays: options.leafValidityMs / day,
    });
  const newCa = () => createCertificateAuthority(`${options.secretName} CA ${randomUUID().slice(0, 8)}`, options.caValidityMs / day);
  const unexpired = async (pems: string[]) => {
    const kept: string[] = [];
    for (const pem of pems) if ((await certificateFacts(pem)).notAfter.getTime() > now) kept.push(pem);
    return kept;
  };

  if (step.action === 'create' || stored === undefined) {
    const ca = await newCa();
    const leaf = await issueLeaf(ca);
    return { caBundle: joinPemBundle([ca.certificatePem]), caKey: ca.privateKeyPem, tlsCert: leaf.certificatePem, tlsKey: leaf.privateKeyPem, caRotatedAt: now };
  }
  const bundle = splitPemBundle(stored.caBundle);
  if (step.action === 'rotate-ca') {
    // The serving certificate stays as it is (signed by the old CA, still trusted) until the bundle has propagated.
    const ca = await newCa();
    return { ...stored, caBundle: joinPemBundle([ca.certificatePem, ...(await unexpired(bundle))]), caKey: ca.privateKeyPem, caRotatedAt: now };
  }
  if (step.action === 'reissue-leaf') {
    const ca = await loadCertificateAuthority(bundle[0] as string, stored.caKey);
    const leaf = await issueLeaf(ca);
    return { ...stored, tlsCert: leaf.certificatePem, tlsKey: leaf.privateKeyPem };
  }
  // prune-bundle; the current CA always stays first.
  return { ...stored, caBundle: joinPemBundle([bundle[0] as string, ...(await unexpired(bundle.slice(1)))]) };
}

function encodeSecret(options: SelfManagedCertsOptions, stored: Omit<StoredSecret, 'resourceVersion'>): k8s.V1Secret {
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name: options.secretName,
      namespace: options.namespace,
      labels: { [ownershipLabels.managedBy]: managedByValue },
      annotations: stored.caRotatedAt === undefined ? {} : { [caRotatedAtAnnotation]: new Date(stored.caRotatedAt).toISOString() },
    },
    data: {
      'tls.crt': base64(stored.tlsCert),
      'tls.key': base64(stored.tlsKey),
      'ca.crt': base64(stored.caBundle),
      'ca.key': base64(stored.caKey),
    },
  };
}

async function writeAtomically(file: string, contents: string, mode: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === contents) return;
  const temporary = join(dirname(file), `.${randomUUID()}.tmp`);
  await writeFile(temporary, contents, { mode });
  await rename(temporary, file);
}
