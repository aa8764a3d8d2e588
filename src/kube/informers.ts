// List+watch caches (Pods, PVCs, policies). client-node's informer stops on an error; watchedCache, the one
// wrapper every watch here goes through, restarts it with capped backoff and tells when the first full list has
// arrived.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiRequests, resourcePath } from './api-requests.ts';
import { apiWatch, type ApiWatch } from './api-watch.ts';
import { ERROR, ListWatch } from './client-parts.ts';
import { SharedStrings } from './shared-strings.ts';

export interface WatchedCache<T extends k8s.KubernetesObject> {
  cache: k8s.ObjectCache<T>;
  informer: k8s.Informer<T>;
  /** True once a full list has been loaded; before that, the cache says nothing. */
  synced(): boolean;
  /**
   * Resolves when synced (retrying the list on errors until stop()). With `timeoutMs`, rejects when the first
   * list has not succeeded by then, with the last error.
   */
  start(options?: { timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export function watchedCache<T extends k8s.KubernetesObject>(informer: k8s.Informer<T> & k8s.ObjectCache<T>, what: string, logger: Logger): WatchedCache<T> {
  let synced = false;
  let stopped = false;
  let started = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let lastError: unknown;
  const restart = () => {
    if (stopped) return;
    failures += 1;
    const delayMs = Math.min(500 * 2 ** Math.min(failures - 1, 6), 30_000);
    logger.warn({ err: lastError, watch: what, retryInMs: delayMs }, 'watch failed; restarting');
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void run(), delayMs);
  };
  informer.on(ERROR, (error) => {
    lastError = error;
    restart();
  });
  let firstSync: (() => void) | undefined;
  const firstSyncDone = new Promise<void>((resolve) => {
    firstSync = resolve;
  });
  const run = async () => {
    if (stopped) return;
    lastError = undefined;
    await informer.start();
    // start() resolves after the list; it reports list errors through the ERROR callback, not by throwing.
    if (lastError === undefined && !stopped) {
      failures = 0;
      synced = true;
      firstSync?.();
    }
  };
  return {
    cache: informer,
    informer,
    synced: () => synced,
    async start(options = {}) {
      // Shared by the webhook and the controller in one process: the second start() only waits for the sync.
      if (!started) {
        started = true;
        stopped = false;
        void run().catch((error: unknown) => {
          lastError = error;
          restart();
        });
      }
      if (options.timeoutMs === undefined) return firstSyncDone;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const reason = lastError instanceof Error ? lastError.message : String(lastError ?? 'no answer');
          reject(new Error(`cannot list ${what}: ${reason}`));
        }, options.timeoutMs);
      });
      try {
        await Promise.race([firstSyncDone, timedOut]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      firstSync?.();
      await informer.stop();
    },
  };
}

interface ListPage<T> {
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/**
 * A list+watch cache in which `view` shrinks each object as it arrives (list and watch), so the cache holds only
 * what its user reads and the full objects are garbage at once. The first list is read in pages, so a restart
 * with many objects never holds one response of all of them in full.
 */
function viewingInformer<T extends k8s.KubernetesObject>(
  config: k8s.KubeConfig,
  path: string,
  listPage: (limit: number, next: string | undefined) => Promise<ListPage<T>>,
  view: (object: T) => T,
  labelSelector?: string,
): k8s.Informer<T> & k8s.ObjectCache<T> {
  const list = async (): Promise<k8s.KubernetesListObject<T>> => {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let next: string | undefined;
    do {
      const page = await listPage(listPageSize, next);
      // Every page of one list is the same snapshot: the first page's resourceVersion is where the watch starts.
      resourceVersion ??= page.metadata?.resourceVersion;
      for (const object of page.items) items.push(view(object));
      next = page.metadata?.continue || undefined;
    } while (next);
    return { metadata: { resourceVersion }, items } as k8s.KubernetesListObject<T>;
  };
  const watch = apiWatch(config);
  const viewingWatch = {
    watch: (
      watchPath: string,
      params: Record<string, string | number | boolean | undefined>,
      callback: (phase: string, object: unknown, raw?: unknown) => void,
      done: (error: unknown) => void,
    ) => watch.watch(watchPath, params, (phase, object, raw) => callback(phase, viewedPhases.has(phase) ? view(object as T) : object, raw), done),
  } as ApiWatch;
  return listWatch(path, viewingWatch, list, labelSelector);
}

/** client-node's makeInformer, watching through api-watch.ts instead of client-node's Watch. */
export function makeInformer<T extends k8s.KubernetesObject>(
  config: k8s.KubeConfig,
  path: string,
  list: () => Promise<k8s.KubernetesListObject<T>>,
  labelSelector?: string,
): k8s.Informer<T> & k8s.ObjectCache<T> {
  return listWatch(path, apiWatch(config), list, labelSelector);
}

function listWatch<T extends k8s.KubernetesObject>(path: string, watch: ApiWatch, list: () => Promise<k8s.KubernetesListObject<T>>, labelSelector?: string): ListWatch<T> {
  // ListWatch is typed for client-node's Watch; it calls only watch(), whose contract api-watch.ts keeps.
  return new ListWatch<T>(path, watch as unknown as k8s.Watch, list, false, labelSelector);
}

const listPageSize = 500;
const viewedPhases = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/** Drops metadata.managedFields, which is most of a small object's size and which nothing here reads. */
export function withoutManagedFields<T extends k8s.KubernetesObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** Pods matching `labelSelector` in all namespaces, each reduced by `view` (default: without managedFields). */
export function watchPods(
  config: k8s.KubeConfig,
  labelSelector: string,
  logger: Logger,
  view: (pod: k8s.V1Pod) => k8s.V1Pod = withoutManagedFields,
): WatchedCache<k8s.V1Pod> {
  const api = apiRequests(config);
  const listPage = (limit: number, next: string | undefined) =>
    api.json<ListPage<k8s.V1Pod>>('GET', resourcePath({ version: 'v1', resource: 'pods' }), { query: { labelSelector, limit, continue: next } });
  return watchedCache(viewingInformer(config, '/api/v1/pods', listPage, view, labelSelector), 'pods', logger);
}

/**
 * A cached PVC: without managedFields, its recurring texts shared. Every other field is kept (adoption rewrites
 * labels and annotations from this copy).
 */
export function claimCacheView(strings: SharedStrings): (claim: k8s.V1PersistentVolumeClaim) => k8s.V1PersistentVolumeClaim {
  return (claim) => {
    const { managedFields: _dropped, name, uid, resourceVersion, creationTimestamp, ...recurring } = claim.metadata ?? {};
    // The PVC's own name, uid, version and time are not worth a lookup.
    const own = Object.fromEntries(Object.entries({ name, uid, resourceVersion, creationTimestamp }).filter(([, value]) => value !== undefined));
    return { ...strings.share({ ...claim, metadata: recurring }), metadata: { ...own, ...strings.share(recurring) } };
  };
}

export function watchClaims(config: k8s.KubeConfig, logger: Logger): WatchedCache<k8s.V1PersistentVolumeClaim> {
  const api = apiRequests(config);
  const listPage = (limit: number, next: string | undefined) =>
    api.json<ListPage<k8s.V1PersistentVolumeClaim>>('GET', resourcePath({ version: 'v1', resource: 'persistentvolumeclaims' }), { query: { limit, continue: next } });
  const view = claimCacheView(new SharedStrings());
  return watchedCache(viewingInformer(config, '/api/v1/persistentvolumeclaims', listPage, view), 'persistentvolumeclaims', logger);
}
