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

export function watchPods(config: k8s.KubeConfig, labelSelector: string, logger: Logger): WatchedCache<k8s.V1Pod> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const informer = k8s.makeInformer(config, '/api/v1/pods', () => core.listPodForAllNamespaces({ labelSelector }), labelSelector);
  return watchedCache(informer, 'pods', logger);
}

export function watchClaims(config: k8s.KubeConfig, logger: Logger): WatchedCache<k8s.V1PersistentVolumeClaim> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const informer = k8s.makeInformer(config, '/api/v1/persistentvolumeclaims', () => core.listPersistentVolumeClaimForAllNamespaces());
  return watchedCache(informer, 'persistentvolumeclaims', logger);
}
