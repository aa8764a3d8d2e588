// Per-Pod provisioning times, from watches of one namespace stamped on arrival in the bench process: when each
// planned PVC first appeared and when each Pod was first seen without the storage scheduling gate. Plain watch
// streams over one kept-alive connection each, every event parsed once and nothing else kept: the bench shares the
// machine with what it measures, so observing must cost as little as it can (client-node's informers decoded every
// Pod into model classes and cached it, and the count of PVCs was polled on top).
import type { ClientRequest } from 'node:http';
import { Agent, request } from 'node:https';
import { storageSchedulingGate } from '../../src/labels.ts';
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

interface WatchEvent {
  type?: string;
  object?: { metadata?: { name?: string; resourceVersion?: string }; spec?: { schedulingGates?: Array<{ name?: string }> } };
}

export async function watchProvisioning(controlPlane: ControlPlane, namespace: string): Promise<ProvisioningWatch> {
  const credentials: { ca?: string; cert?: string; key?: string } = {};
  await controlPlane.kubeConfig.applyToHTTPSOptions(credentials as never);
  const agent = new Agent({ keepAlive: true, ca: credentials.ca, cert: credentials.cert, key: credentials.key });
  const claimSeen = new Map<string, number>();
  const released = new Map<string, number>();
  let failed: Error | undefined;
  let stopping = false;
  let restarts = 0;
  const requests: ClientRequest[] = [];

  /**
   * Resolves once the API server has answered the watch (it registers the watcher before it sends the headers).
   * A watch the API server ends (it drops watchers that fall behind) is resumed from the last resourceVersion seen,
   * as an informer would.
   */
  const watch = (resource: string, onEvent: (event: WatchEvent, at: number) => void) =>
    new Promise<void>((resolve, reject) => {
      let resourceVersion: string | undefined;
      const fail = (error: Error) => {
        if (!stopping) failed ??= error;
        reject(error);
      };
      const open = () => {
        const from = resourceVersion === undefined ? '' : `&resourceVersion=${resourceVersion}&allowWatchBookmarks=true`;
        const url = new URL(`/api/v1/namespaces/${namespace}/${resource}?watch=true${from}`, controlPlane.serverUrl);
        const outgoing = request(url, { agent, headers: { accept: 'application/json' } }, (response) => {
          if (response.statusCode !== 200) return fail(new Error(`watch of ${resource} answered HTTP ${response.statusCode}`));
          resolve();
          response.setEncoding('utf8'); // decodes characters split across chunks
          let partial = '';
          response.on('data', (text: string) => {
            const at = performance.now();
            const lines = (partial + text).split('\n');
            partial = lines.pop() ?? '';
            for (const line of lines) {
              if (line === '') continue;
              const event = JSON.parse(line) as WatchEvent;
              if (event.type === 'ERROR') return fail(new Error(`watch of ${resource} sent an error: ${line.slice(0, 300)}`));
              resourceVersion = event.object?.metadata?.resourceVersion ?? resourceVersion;
              if (event.type !== 'BOOKMARK') onEvent(event, at);
            }
          });
          response.on('end', () => {
            if (stopping || failed) return;
            restarts += 1;
            open();
          });
          response.on('error', fail);
        });
        outgoing.on('error', fail);
        outgoing.end();
        requests.push(outgoing);
      };
      open();
    });

  await Promise.all([
    watch('persistentvolumeclaims', (event, at) => {
      const name = event.object?.metadata?.name ?? '';
      if (event.type !== 'DELETED' && !claimSeen.has(name)) claimSeen.set(name, at);
    }),
    watch('pods', (event, at) => {
      const name = event.object?.metadata?.name ?? '';
      const gated = (event.object?.spec?.schedulingGates ?? []).some((gate) => gate.name === storageSchedulingGate);
      if (event.type !== 'DELETED' && !gated && !released.has(name)) released.set(name, at);
    }),
  ]);
  return {
    claimSeenAt: (name) => claimSeen.get(name),
    releasedAt: (pod) => released.get(pod),
    failure: () => failed,
    restarts: () => restarts,
    async stop() {
      stopping = true;
      for (const outgoing of requests) outgoing.destroy();
      agent.destroy();
    },
  };
}
