// core/v1 Events on Pods and PVCs, so `kubectl describe` shows what the controller did or why a Pod waits.
// The same (object, reason, message) is recorded at most once per interval, so a retry loop does not flood etcd.
// Writes are sent a few at a time, behind the reconciles: under a burst (1,000 new Pods, two Events each) they used
// to compete at full concurrency with the PVC creates and gate removals the Pods wait for.
import { createHash, randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { controllerComponent } from '../labels.ts';
import { apiRequests, resourcePath } from './api-requests.ts';
import { recentEvents } from './recent-events.ts';

export const eventReasons = {
  provisioned: 'WorkspaceProvisioned',
  adopted: 'WorkspaceAdopted',
  deleted: 'WorkspaceDeleted',
  failed: 'ProvisioningFailed',
  conflict: 'WorkspaceConflict',
  /** A PVC of a planned name without a valid ownership proof: planted, never used. */
  unproven: 'OwnershipUnproven',
  pending: 'WorkspacePending',
  missingShared: 'SharedClaimMissing',
  quotaExceeded: 'QuotaExceeded',
  prepared: 'DirectoriesPrepared',
  preparationFailed: 'PreparationFailed',
  preparationSkipped: 'PreparationSkipped',
  /** The seeder kept a user's file beside the image's new version, or could not apply a type change. */
  seedConflicts: 'SeedConflicts',
  /** The seed-script ConfigMap's name is taken by an object that is not ours: the Pod stays gated. */
  seedScriptConflict: 'SeedScriptConflict',
} as const;

export interface EventTarget {
  kind: 'Pod' | 'PersistentVolumeClaim' | 'SandboxStoragePolicy';
  /** Defaults to v1 (core objects). */
  apiVersion?: string;
  /** For a cluster-scoped object: the namespace the Event is stored in (`default`). */
  namespace: string;
  name: string;
  uid?: string;
}

export const podTarget = (pod: k8s.V1Pod): EventTarget => ({
  kind: 'Pod',
  namespace: pod.metadata?.namespace ?? '',
  name: pod.metadata?.name ?? '',
  ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}),
});

export interface EventRecorder {
  normal(target: EventTarget, reason: string, message: string): void;
  warning(target: EventTarget, reason: string, message: string): void;
}

/** Event writes in flight at once, and how many may wait; beyond that new Events are dropped (and logged). */
const maxInFlight = 4;
const maxWaiting = 2_000;
/** Events remembered for the repeat check (≈ 100 bytes each); beyond that the oldest may be written again early. */
const rememberedEvents = 50_000;

export function eventRecorder(config: k8s.KubeConfig, logger: Logger, instance: string, repeatAfterMs = 10 * 60_000): EventRecorder {
  const api = apiRequests(config);
  const recent = recentEvents(repeatAfterMs, rememberedEvents);
  // Unique names without a random draw per Event: a random prefix per recorder, then a counter.
  const namePrefix = randomBytes(4).toString('hex');
  let sequence = 0;
  const waiting: Array<() => Promise<unknown>> = [];
  let inFlight = 0;
  let dropped = 0;
  const pump = () => {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const write = waiting.shift()!;
      inFlight += 1;
      void write().finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };
  const send = (write: () => Promise<unknown>) => {
    if (waiting.length >= maxWaiting) {
      dropped += 1;
      // Once per thousand, so that a flood of Events does not become a flood of log lines.
      if (dropped % 1000 === 1) logger.warn({ dropped, waiting: waiting.length }, 'too many events waiting; dropping new ones');
      return false;
    }
    waiting.push(write);
    pump();
    return true;
  };
  const record = (type: 'Normal' | 'Warning', target: EventTarget, reason: string, message: string) => {
    // Kept for every Event of the last interval (two per new Pod): a digest, not the whole text with its message.
    const key = createHash('sha256').update(`${target.kind}\0${target.namespace}\0${target.name}\0${target.uid ?? ''}\0${reason}\0${message}`).digest('base64url');
    if (!recent.claim(key, Date.now())) return;
    const time = new Date();
    const body: k8s.CoreV1Event = {
      metadata: { name: `${target.name}.${namePrefix}${(sequence += 1).toString(16)}`, namespace: target.namespace },
      involvedObject: {
        apiVersion: target.apiVersion ?? 'v1',
        kind: target.kind,
        // Cluster-scoped objects have no namespace of their own; their Events live in `default`.
        ...(target.kind === 'SandboxStoragePolicy' ? {} : { namespace: target.namespace }),
        name: target.name,
        ...(target.uid ? { uid: target.uid } : {}),
      },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: controllerComponent },
      reportingComponent: controllerComponent,
      reportingInstance: instance,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    // Events are best effort: losing one must never fail or slow a reconcile.
    const queued = send(() =>
      api.send('POST', resourcePath({ version: 'v1', resource: 'events', namespace: target.namespace }), { body }).catch((error: unknown) => {
        recent.forget(key);
        logger.warn({ err: error, reason, object: `${target.kind}/${target.namespace}/${target.name}` }, 'cannot record event');
      }),
    );
    if (!queued) recent.forget(key);
  };
  return {
    normal: (target, reason, message) => record('Normal', target, reason, message),
    warning: (target, reason, message) => record('Warning', target, reason, message),
  };
}
