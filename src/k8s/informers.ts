// Label-selected list+watch caches of Pods and PVCs. client-node's informer stops on an error; this restarts it
// with capped backoff and tells when the first full list has arrived.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface WatchedCache<T extends k8s.KubernetesObject> {
  cache: k8s.ObjectCache<T>;
  informer: k8s.Informer<T>;
  /** True once a full list has been loaded; before that, the cache says nothing. */
  synced(): boolean;
  /** Resolves when synced (retrying the list on errors until stop()). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

function watched<T extends k8s.KubernetesObject>(informer: k8s.Informer<T> & k8s.ObjectCache<T>, what: string, logger: Logger): WatchedCache<T> {
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
  informer.on(k8s.ERROR, (error) => {
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
    async start() {
      // Shared by the webhook and the controller in one process: the second start() only waits for the sync.
      if (started) return firstSyncDone;
      started = true;
      stopped = false;
      void run().catch((error: unknown) => {
        lastError = error;
        restart();
      });
      await firstSyncDone;
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      firstSync?.();
      await informer.stop();
    },
  };
}

/**
 * Pods matching `labelSelector` in all namespaces. `view` shrinks each Pod as it arrives (list and watch), so the
 * cache holds only what its user reads; the full objects are garbage as soon as they are converted. The first list
 * is read in pages, so a restart with many Pods never holds one response of all of them in full.
 */
export function watchPods(
  config: k8s.KubeConfig,
  labelSelector: string,
  logger: Logger,
  view: (pod: k8s.V1Pod) => k8s.V1Pod = (pod) => pod,
): WatchedCache<k8s.V1Pod> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const list = async (): Promise<k8s.V1PodList> => {
    const items: k8s.V1Pod[] = [];
    let first: k8s.V1PodList | undefined;
    let next: string | undefined;
    do {
      const page = await core.listPodForAllNamespaces({ labelSelector, limit: listPageSize, ...(next ? { _continue: next } : {}) });
      first ??= page;
      for (const pod of page.items) items.push(view(pod));
      next = page.metadata?._continue || undefined;
    } while (next);
    // Every page of one list is the same snapshot: the first page's resourceVersion is where the watch starts.
    return { ...first, metadata: { resourceVersion: first.metadata?.resourceVersion }, items } as k8s.V1PodList;
  };
  const watch = new k8s.Watch(config);
  const viewingWatch = {
    watch: (path: string, params: Record<string, string | number | boolean | undefined>, callback: (phase: string, object: unknown, raw?: unknown) => void, done: (error: unknown) => void) =>
      watch.watch(path, params, (phase, object, raw) => callback(phase, viewedPhases.has(phase) ? view(object as k8s.V1Pod) : object, raw), done),
  } as k8s.Watch;
  const informer = new k8s.ListWatch<k8s.V1Pod>('/api/v1/pods', viewingWatch, list, false, labelSelector);
  return watched(informer, 'pods', logger);
}

const listPageSize = 500;
const viewedPhases = new Set(['ADDED', 'MODIFIED', 'DELETED']);

export function watchClaims(config: k8s.KubeConfig, logger: Logger): WatchedCache<k8s.V1PersistentVolumeClaim> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const informer = k8s.makeInformer(config, '/api/v1/persistentvolumeclaims', () => core.listPersistentVolumeClaimForAllNamespaces());
  return watched(informer, 'persistentvolumeclaims', logger);
}
