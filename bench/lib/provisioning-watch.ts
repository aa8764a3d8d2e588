// Per-Pod provisioning times, from watches of one namespace stamped on arrival in the bench process: when each
// planned PVC first appeared and when each Pod was first seen without the storage scheduling gate. Plain watch
// streams over one kept-alive connection each, every event parsed once and nothing else kept: the bench shares the
// machine with what it measures, so observing must cost as little as it can (client-node's informers decoded every
// Pod into model classes and cached it, and the count of PVCs was polled on top). The watches are src/kube's own.
import { storageSchedulingGate } from '../../src/labels.ts';
import { apiWatch } from '../../src/kube/api-watch.ts';
import type { ControlPlane } from '../../test/harness/controlplane.ts';

export interface ProvisioningWatch {
  claimSeenAt(name: string): number | undefined;
  releasedAt(pod: string): number | undefined;
  /** Why a watch stopped before `stop()`, if one did: its times are incomplete from then on. */
  failure(): Error | undefined;
  /** How often the API server ended a watch that was then resumed. */
  restarts(): number;
  stop(): Promise<void>;
}

interface WatchedObject {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { schedulingGates?: Array<{ name?: string }> };
}

export async function watchProvisioning(controlPlane: ControlPlane, namespace: string): Promise<ProvisioningWatch> {
  const watches = apiWatch(controlPlane.kubeConfig);
  const claimSeen = new Map<string, number>();
  const released = new Map<string, number>();
  let failed: Error | undefined;
  let stopping = false;
  let restarts = 0;
  const running: Array<{ abort(): void }> = [];

  /**
   * Resolves once the API server has answered the watch (it registers the watcher before it sends the headers).
   * A watch the API server ends (it drops watchers that fall behind) or that falls quiet is resumed from the last
   * resourceVersion seen, as an informer would.
   */
  const watch = async (resource: string, onEvent: (type: string, object: WatchedObject, at: number) => void) => {
    let resourceVersion: string | undefined;
    const open = async (): Promise<void> => {
      const from = resourceVersion === undefined ? {} : { resourceVersion, allowWatchBookmarks: true };
      const handle = await watches.watch(
        `/api/v1/namespaces/${namespace}/${resource}`,
        from,
        (type, object) => {
          const at = performance.now();
          if (type === 'ERROR') {
            failed ??= new Error(`watch of ${resource} sent an error: ${JSON.stringify(object).slice(0, 300)}`);
            return;
          }
          const watched = object as WatchedObject;
          resourceVersion = watched.metadata?.resourceVersion ?? resourceVersion;
          if (type !== 'BOOKMARK') onEvent(type, watched, at);
        },
        (error) => {
          if (stopping || failed) return;
          if (error !== null && (error as Error).name !== 'TimeoutError') {
            failed = error instanceof Error ? error : new Error(`watch of ${resource} failed: ${String(error)}`);
            return;
          }
          restarts += 1;
          open().catch((reopenError: unknown) => {
            failed ??= reopenError instanceof Error ? reopenError : new Error(String(reopenError));
          });
        },
      );
      running.push(handle);
      if (failed) throw failed;
    };
    await open();
  };

  await Promise.all([
    watch('persistentvolumeclaims', (type, object, at) => {
      const name = object.metadata?.name ?? '';
      if (type !== 'DELETED' && !claimSeen.has(name)) claimSeen.set(name, at);
    }),
    watch('pods', (type, object, at) => {
      const name = object.metadata?.name ?? '';
      const gated = (object.spec?.schedulingGates ?? []).some((gate) => gate.name === storageSchedulingGate);
      if (type !== 'DELETED' && !gated && !released.has(name)) released.set(name, at);
    }),
  ]);
  return {
    claimSeenAt: (name) => claimSeen.get(name),
    releasedAt: (pod) => released.get(pod),
    failure: () => failed,
    restarts: () => restarts,
    async stop() {
      stopping = true;
      for (const handle of running) handle.abort();
    },
  };
}
