// Self-managed webhook certificates: no cert-manager, no manual step.
//
// Two halves. The renewal, leader-only, keeps a CA and a serving certificate in one Secret (creating, rotating and
// pruning it, see rotation-plan.ts) and patches the CA bundle into the webhook configurations it names. The reload,
// on every replica, copies the Secret's serving certificate into the files the HTTPS server reloads, so no replica
// restarts.
//
// Every write is optimistic (create answers 409 when another replica was first, update carries the resourceVersion
// it read), so several replicas that all consider themselves leader still converge on one Secret.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { alternativeNames, certificateFacts, isSignedBy, joinPemBundle, splitPemBundle } from '../certs/inspect.ts';
import { createCertificateAuthority, loadCertificateAuthority, type CertificateAuthority } from '../certs/issue.ts';
import { planRotation, type RotationSettings, type RotationStep, type StoredCertificates } from '../certs/rotation-plan.ts';
import { caRotatedAtAnnotation, managedByValue, ownershipLabels } from '../labels.ts';
import { isNotFound, isConflict } from './api-errors.ts';
import { apiRequests, patchTypes, resourcePath, type ApiRequests } from './api-requests.ts';

const day = 24 * 60 * 60 * 1000;

interface CertificateSecretOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  secretName: string;
  /** How often the Secret is read (and, by the renewal, renewed when due). */
  checkIntervalMs: number;
  logger: Logger;
}

export interface CertificateRenewalOptions extends CertificateSecretOptions, RotationSettings {
  /** Mutating and/or validating webhook configurations of this name get the CA bundle. */
  webhookConfigurationNames: string[];
  dnsNames: string[];
  ipAddresses: string[];
  /** Called after a round that changed the Secret (so the reload can copy it at once). */
  onWritten?: () => void;
  now?: () => number;
}

export interface CertificateReloadOptions extends CertificateSecretOptions {
  /** Where the serving certificate and key are written for the HTTPS server. */
  certFile: string;
  keyFile: string;
}

/** The leader's half: creates, rotates and prunes the Secret and patches the CA bundle, until stop(). */
export interface CertificateRenewal {
  /** Resolves after the first round that succeeded (Secret current, CA bundles patched). */
  firstRound: Promise<void>;
  /** Runs one read-renew-patch round now (also runs on the interval). */
  syncNow(): Promise<void>;
  stop(): void;
}

/** Every replica's half: copies the Secret's serving certificate into the files the HTTPS server reloads. */
export interface CertificateReload {
  /** Resolves once the files hold the Secret's certificate (which waits for a leader to create it). */
  ready: Promise<void>;
  /** The CA bundle last seen in the Secret. */
  caBundle(): string | undefined;
  /** Reads the Secret and copies it now (also runs on the interval). */
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

const secretPath = (namespace: string, name?: string) => resourcePath({ version: 'v1', resource: 'secrets', namespace, name });

async function readSecret(api: ApiRequests, options: CertificateSecretOptions): Promise<StoredSecret | undefined> {
  try {
    return decodeSecret(await api.json<k8s.V1Secret>('GET', secretPath(options.namespace, options.secretName)));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Runs `round` now and then on the interval, one at a time: until a round has succeeded every 2 s at most (a
 * server cannot listen before its certificate exists), then every checkIntervalMs. Failures are logged and retried.
 */
function repeatRounds(options: CertificateSecretOptions, round: () => Promise<boolean>): { firstSuccess: Promise<void>; syncNow(): Promise<void>; stop(): void } {
  const { logger } = options;
  let running: Promise<void> | undefined;
  let succeeded = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveFirst = () => {};
  const firstSuccess = new Promise<void>((resolve) => (resolveFirst = resolve));
  const schedule = () => {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(() => void syncNow(), succeeded ? options.checkIntervalMs : Math.min(options.checkIntervalMs, 2_000));
    timer.unref();
  };
  const syncNow = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    running ??= round()
      .then(
        (done) => {
          if (done && !succeeded) {
            succeeded = true;
            resolveFirst();
          }
        },
        (error: unknown) => {
          logger.warn({ err: error, secret: options.secretName }, 'certificate sync failed: retrying on the next round');
        },
      )
      .finally(() => {
        running = undefined;
        schedule();
      });
    return running;
  };
  void syncNow();
  return {
    firstSuccess,
    syncNow,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Starts the leader's rounds: the Secret created or renewed when due, the CA bundle patched where it differs. */
export function startCertificateRenewal(options: CertificateRenewalOptions): CertificateRenewal {
  const { logger } = options;
  const api = apiRequests(options.kubeConfig);
  const now = options.now ?? Date.now;

  const renew = async (stored: StoredSecret | undefined): Promise<{ stored: StoredSecret | undefined; written: boolean }> => {
    const facts = await describe(stored, options);
    const step = planRotation(facts, now(), options);
    if (step.action === 'none') return { stored, written: false };
    // A serving certificate of a new CA only once the configurations carry the bundle that trusts it: the patch in
    // the round that staged the CA may have failed.
    if (stored && step.action === 'reissue-leaf' && facts?.leafSignedByCurrentCa === false) await patchCaBundles(stored.caBundle);
    const next = await carryOut(step, stored, options, now());
    const body = encodeSecret(options, next);
    try {
      if (stored === undefined) {
        await api.send('POST', secretPath(options.namespace), { body });
      } else {
        body.metadata = { ...body.metadata, resourceVersion: stored.resourceVersion };
        await api.send('PUT', secretPath(options.namespace, options.secretName), { body });
      }
    } catch (error) {
      // Another replica wrote first: its version wins, and the next round starts from it.
      if (isConflict(error)) {
        logger.info({ secret: options.secretName, step: step.action }, 'certificate Secret changed concurrently: re-reading');
        return { stored: await readSecret(api, options), written: true };
      }
      throw error;
    }
    logger.info({ secret: options.secretName, step: step.action, reason: step.reason }, 'webhook certificates updated');
    return { stored: await readSecret(api, options), written: true };
  };

  const patchCaBundles = async (bundle: string) => {
    const encoded = Buffer.from(bundle).toString('base64');
    for (const name of options.webhookConfigurationNames) {
      for (const kind of ['mutating', 'validating'] as const) {
        const configuration = await readConfiguration(api, kind, name);
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
        await api.send('PATCH', configurationPath(kind, name), { body: operations, contentType: patchTypes.json });
        logger.info({ kind: `${kind}webhookconfiguration`, name }, 'CA bundle patched into webhook configuration');
      }
    }
  };

  const rounds = repeatRounds(options, async () => {
    const { stored, written } = await renew(await readSecret(api, options));
    // The reload first: a renewed serving certificate is trusted by the bundle already in place (see renew; only a
    // start-over has a gap, in either order), and on a loaded machine every call before it delays the switch.
    if (written) options.onWritten?.();
    if (stored) await patchCaBundles(stored.caBundle);
    return stored !== undefined;
  });
  return { firstRound: rounds.firstSuccess, syncNow: rounds.syncNow, stop: rounds.stop };
}

/** Starts copying the Secret into the serving files; `ready` resolves once they hold it. */
export function startCertificateReload(options: CertificateReloadOptions): CertificateReload {
  const { logger } = options;
  const api = apiRequests(options.kubeConfig);
  let lastWritten: string | undefined;
  let lastBundle: string | undefined;

  const writeFiles = async (stored: StoredSecret) => {
    const fingerprint = stored.tlsCert + stored.tlsKey;
    if (fingerprint === lastWritten) return;
    // Both written aside, then renamed back to back, key first: the server's reload debounces change events and
    // refuses a mismatched pair, so a slow gap between the two would only delay it (and warn).
    const key = await writeAside(options.keyFile, stored.tlsKey, 0o600);
    const cert = await writeAside(options.certFile, stored.tlsCert, 0o644).catch(async (error: unknown) => {
      await key.discard();
      throw error;
    });
    await key.commit();
    await cert.commit();
    lastWritten = fingerprint;
    logger.info({ certFile: options.certFile }, 'serving certificate written from Secret');
  };

  const rounds = repeatRounds(options, async () => {
    const stored = await readSecret(api, options);
    if (stored === undefined) {
      if (lastWritten === undefined) logger.info({ secret: options.secretName }, 'waiting for the leader to create the certificate Secret');
      return false;
    }
    lastBundle = stored.caBundle;
    await writeFiles(stored);
    return true;
  });
  return { ready: rounds.firstSuccess, caBundle: () => lastBundle, syncNow: rounds.syncNow, stop: rounds.stop };
}

const configurationPath = (kind: 'mutating' | 'validating', name: string) =>
  resourcePath({ group: 'admissionregistration.k8s.io', version: 'v1', resource: `${kind}webhookconfigurations`, name });

async function readConfiguration(
  api: ApiRequests,
  kind: 'mutating' | 'validating',
  name: string,
): Promise<k8s.V1MutatingWebhookConfiguration | k8s.V1ValidatingWebhookConfiguration | undefined> {
  try {
    return await api.json<k8s.V1MutatingWebhookConfiguration | k8s.V1ValidatingWebhookConfiguration>('GET', configurationPath(kind, name));
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

function wantedNames(options: Pick<CertificateRenewalOptions, 'dnsNames' | 'ipAddresses'>): string[] {
  return [...options.dnsNames.map((name) => `dns:${name}`), ...options.ipAddresses.map((address) => `ip:${address}`)].sort();
}

/** The facts rotation decides on; undefined when the Secret is missing or cannot be parsed. */
async function describe(
  stored: StoredSecret | undefined,
  options: CertificateRenewalOptions,
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
  options: CertificateRenewalOptions,
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

function encodeSecret(options: CertificateRenewalOptions, stored: Omit<StoredSecret, 'resourceVersion'>): k8s.V1Secret {
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

/** Writes `contents` next to `file`, to be renamed into place by commit() (nothing to do if already there). */
async function writeAside(file: string, contents: string, mode: number): Promise<{ commit(): Promise<void>; discard(): Promise<void> }> {
  await mkdir(dirname(file), { recursive: true });
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === contents) return { commit: async () => {}, discard: async () => {} };
  const temporary = join(dirname(file), `.${randomUUID()}.tmp`);
  await writeFile(temporary, contents, { mode });
  return { commit: () => rename(temporary, file), discard: () => rm(temporary, { force: true }) };
}
