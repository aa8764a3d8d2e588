// The ownership key: 32 random bytes in a Secret of the product's own namespace, under which the controller proves
// the PVCs it creates (see admission/ownership-proof.ts) and every webhook replica checks them.
//
// Lifecycle: the first process that needs the key and finds no Secret creates it (create; 409 = another replica was
// first, so re-read). An existing Secret is never overwritten, not even a malformed one: a key that changed would
// make every PVC proven under the old one unproven. Each replica keeps the key in memory once read; until then it
// reads again on an interval and, rate-limited, whenever a PVC could not be proven.
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ownershipKeyBytes } from '../admission/ownership-proof.ts';
import { apiErrorMessage, isConflict, isNotFound } from './api-errors.ts';
import { apiRequests, resourcePath, type ApiRequests } from './api-requests.ts';
import { managedByValue, ownershipLabels } from '../labels.ts';

export const defaultOwnershipKeySecret = 'sandbox-storage-ownership-key';
/** The data key of the Secret holding the 32 bytes. */
export const ownershipKeyDataKey = 'key';

export interface OwnershipKeySource {
  /** The key, once read (or created); undefined before. Never blocks: admission reads this. */
  current(): Uint8Array | undefined;
  /** The key, reading the Secret (and creating it when `create` allows and there is none) if not known yet. */
  ensure(): Promise<Uint8Array>;
  /** A PVC could not be proven: read the Secret again soon if the key is not known yet (rate-limited). */
  unproven(): void;
  stop(): void;
}

export interface OwnershipKeyOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  secretName: string;
  logger: Logger;
  /** Whether this process creates the Secret when there is none (default true). */
  create?: boolean;
  /** How often the Secret is read while the key is not known (default 10 s). */
  retryIntervalMs?: number;
  /** Reads caused by unproven PVCs are at most this frequent (default 2 s). */
  minReadIntervalMs?: number;
}

/** The 32 key bytes of a Secret, or a description of what is wrong with it. */
export function keyFromSecret(secret: k8s.V1Secret): { key?: Uint8Array; problem?: string } {
  const encoded = secret.data?.[ownershipKeyDataKey];
  if (encoded === undefined) return { problem: `it has no data.${ownershipKeyDataKey}` };
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== ownershipKeyBytes) return { problem: `data.${ownershipKeyDataKey} holds ${key.length} bytes, not ${ownershipKeyBytes}` };
  return { key: new Uint8Array(key) };
}

/** One read of the ownership key Secret, never creating it (the audit): the key, or why the Secret is unusable. */
export async function readOwnershipKey(config: k8s.KubeConfig, ref: { namespace: string; name: string }): Promise<{ key?: Uint8Array; problem?: string }> {
  return keyFromSecret(await readSecret(apiRequests(config), ref.namespace, ref.name));
}

export function ownershipKeySecretBody(namespace: string, name: string, key: Uint8Array): k8s.V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { [ownershipLabels.managedBy]: managedByValue } },
    type: 'Opaque',
    // Immutable: the API server refuses any later change of the key, by anyone.
    immutable: true,
    data: { [ownershipKeyDataKey]: Buffer.from(key).toString('base64') },
  };
}

const secretPath = (namespace: string, name?: string) => resourcePath({ version: 'v1', resource: 'secrets', namespace, name });
const readSecret = (api: ApiRequests, namespace: string, name: string) => api.json<k8s.V1Secret>('GET', secretPath(namespace, name));

/** Starts reading the key in the background; `ensure()` waits for it. */
export function ownershipKeySource(options: OwnershipKeyOptions): OwnershipKeySource {
  const api = apiRequests(options.kubeConfig);
  const { namespace, secretName: name, logger } = options;
  const create = options.create ?? true;
  const retryIntervalMs = options.retryIntervalMs ?? 10_000;
  const minReadIntervalMs = options.minReadIntervalMs ?? 2_000;
  let key: Uint8Array | undefined;
  let reading: Promise<Uint8Array> | undefined;
  let lastReadAt = 0;
  let stopped = false;

  const read = async (): Promise<Uint8Array> => {
    lastReadAt = Date.now();
    let secret: k8s.V1Secret | undefined;
    try {
      secret = await readSecret(api, namespace, name);
    } catch (error) {
      if (!isNotFound(error)) throw new Error(`cannot read the ownership key Secret ${namespace}/${name}: ${apiErrorMessage(error)}`, { cause: error });
    }
    if (secret === undefined) {
      if (!create) throw new Error(`the ownership key Secret ${namespace}/${name} does not exist yet`);
      try {
        secret = await api.json<k8s.V1Secret>('POST', secretPath(namespace), { body: ownershipKeySecretBody(namespace, name, randomBytes(ownershipKeyBytes)) });
        logger.info({ secret: `${namespace}/${name}` }, 'ownership key Secret created');
      } catch (error) {
        if (!isConflict(error)) throw new Error(`cannot create the ownership key Secret ${namespace}/${name}: ${apiErrorMessage(error)}`, { cause: error });
        // Another replica created it first: its key is the key.
        secret = await readSecret(api, namespace, name);
      }
    }
    const found = keyFromSecret(secret);
    if (!found.key) {
      throw new Error(`the ownership key Secret ${namespace}/${name} is unusable (${found.problem}); it is never overwritten: delete it to have a new key made, after which PVCs proven under the old key are unproven`);
    }
    return found.key;
  };

  const attempt = (): Promise<Uint8Array> => {
    if (key) return Promise.resolve(key);
    reading ??= read()
      .then((found) => {
        if (!key) logger.info({ secret: `${namespace}/${name}` }, 'ownership key read');
        key = found;
        return found;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };

  const timer = setInterval(() => {
    if (stopped || key) return;
    attempt().catch((error: unknown) => logger.warn({ err: error }, 'ownership key not available yet: PVCs cannot be proven'));
  }, retryIntervalMs);
  timer.unref();
  attempt().catch((error: unknown) => logger.warn({ err: error }, 'ownership key not available yet: PVCs cannot be proven'));

  return {
    current: () => key,
    ensure: attempt,
    unproven() {
      if (key || stopped || Date.now() - lastReadAt < minReadIntervalMs) return;
      attempt().catch((error: unknown) => logger.warn({ err: error }, 'ownership key not available yet: PVCs cannot be proven'));
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
