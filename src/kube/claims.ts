// Thin wrapper over the PersistentVolumeClaim calls the controller makes.
import type * as k8s from '@kubernetes/client-node';
import type { ClaimPlan, ObservedClaim } from '../admission/plan-types.ts';
import { quantityBytes } from '../naming/quantity.ts';
import { isConflict, isNotFound } from './api-errors.ts';
import { apiRequests, patchTypes, resourcePath } from './api-requests.ts';
import { controllerComponent, managedByValue, ownershipLabels, ownershipProofAnnotation } from '../labels.ts';

export interface ClaimClient {
  get(namespace: string, name: string): Promise<k8s.V1PersistentVolumeClaim | undefined>;
  /**
   * Creates the PVC with `proof` (see ownership-proof.ts) in the create body itself, so that it is never seen
   * unproven. The created PVC, or 'exists' when one of that name appeared first (HTTP 409): re-read and check it.
   */
  create(plan: ClaimPlan, proof: string): Promise<k8s.V1PersistentVolumeClaim | 'exists'>;
  /** Merges labels and annotations into an existing PVC (adoption: labels and proof), guarded by its resourceVersion. */
  adopt(claim: k8s.V1PersistentVolumeClaim, labels: Record<string, string>, annotations: Record<string, string>): Promise<void>;
  /** Sets (or with undefined removes) one annotation, guarded by the PVC's resourceVersion. */
  setAnnotation(claim: k8s.V1PersistentVolumeClaim, key: string, value: string | undefined): Promise<void>;
  delete(namespace: string, name: string, preconditions: { uid: string; resourceVersion: string }): Promise<void>;
  /**
   * The workspace PVCs labelled as managed for one user in a namespace, read from the API server (exact, for
   * quotas); labels can be forged, so the caller counts only the proven ones (claim-ownership.ts provenClaims).
   */
  listOfUser(namespace: string, userLabel: string, user: string): Promise<ObservedClaim[]>;
}

export function claimBody(plan: ClaimPlan, proof: string): k8s.V1PersistentVolumeClaim {
  const spec: k8s.V1PersistentVolumeClaimSpec = {
    accessModes: [...plan.accessModes],
    volumeMode: plan.volumeMode,
    resources: { requests: { storage: plan.size } },
  };
  // Absent means the cluster's default StorageClass; '' would mean "no class", which is not what a policy says.
  if (plan.storageClassName !== undefined) spec.storageClassName = plan.storageClassName;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: plan.name, namespace: plan.namespace, labels: { ...plan.labels }, annotations: { [ownershipProofAnnotation]: proof } },
    spec,
  };
}

export function observeClaim(claim: k8s.V1PersistentVolumeClaim): ObservedClaim {
  return {
    name: claim.metadata?.name ?? '',
    labels: claim.metadata?.labels ?? {},
    annotations: claim.metadata?.annotations ?? {},
    deleting: claim.metadata?.deletionTimestamp !== undefined && claim.metadata?.deletionTimestamp !== null,
    requestedBytes: quantityBytes(String(claim.spec?.resources?.requests?.storage ?? '')) ?? 0,
  };
}

const claimPath = (namespace: string, name?: string) =>
  resourcePath({ version: 'v1', resource: 'persistentvolumeclaims', namespace, name });

export function claimClient(config: k8s.KubeConfig): ClaimClient {
  const api = apiRequests(config);
  return {
    async get(namespace, name) {
      try {
        return await api.json<k8s.V1PersistentVolumeClaim>('GET', claimPath(namespace, name));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async create(plan, proof) {
      try {
        return await api.json<k8s.V1PersistentVolumeClaim>('POST', claimPath(plan.namespace), { body: claimBody(plan, proof) });
      } catch (error) {
        if (isConflict(error)) return 'exists';
        throw error;
      }
    },
    async adopt(claim, labels, annotations) {
      const patch = [
        { op: 'test', path: '/metadata/resourceVersion', value: claim.metadata?.resourceVersion },
        { op: 'add', path: '/metadata/labels', value: { ...claim.metadata?.labels, ...labels } },
        { op: 'add', path: '/metadata/annotations', value: { ...claim.metadata?.annotations, ...annotations } },
      ];
      await api.send('PATCH', claimPath(claim.metadata?.namespace ?? '', claim.metadata?.name ?? ''), { body: patch, contentType: patchTypes.json });
    },
    async setAnnotation(claim, key, value) {
      // A merge patch carrying resourceVersion fails with 409 if the PVC changed since it was read.
      const patch = { metadata: { resourceVersion: claim.metadata?.resourceVersion, annotations: { [key]: value ?? null } } };
      await api.send('PATCH', claimPath(claim.metadata?.namespace ?? '', claim.metadata?.name ?? ''), { body: patch, contentType: patchTypes.merge });
    },
    async listOfUser(namespace, userLabel, user) {
      const list = await api.json<k8s.V1PersistentVolumeClaimList>('GET', claimPath(namespace), {
        query: { labelSelector: `${ownershipLabels.managedBy}=${managedByValue},${userLabel}=${user},${ownershipLabels.identityHash}` },
      });
      return list.items.map(observeClaim);
    },
    async delete(namespace, name, preconditions) {
      try {
        await api.send('DELETE', claimPath(namespace, name), { body: { preconditions } });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
  };
}

/**
 * The message of the latest Event about a PVC from anyone but this controller (e.g. the binder's "no storage class
 * is set"), for Warnings. One LIST serves every PVC of a namespace for `maxAgeMs`: Event field selectors are not
 * indexed, so a LIST per PVC scans all Events of the namespace each time, and with thousands of Pending PVCs those
 * scans were most of the API server's work.
 */
export function claimEventMessages(config: k8s.KubeConfig, maxAgeMs = 5_000): (namespace: string, name: string) => Promise<string | undefined> {
  const api = apiRequests(config);
  const byNamespace = new Map<string, { at: number; latest: Promise<Map<string, string>> }>();
  const load = async (namespace: string): Promise<Map<string, string>> => {
    const events = await api.json<k8s.CoreV1EventList>('GET', resourcePath({ version: 'v1', resource: 'events', namespace }), {
      query: { fieldSelector: `involvedObject.kind=PersistentVolumeClaim,source!=${controllerComponent}` },
    });
    const latest = new Map<string, { time: number; message: string }>();
    for (const event of events.items) {
      const name = event.involvedObject.name ?? '';
      const time = new Date(event.lastTimestamp ?? event.eventTime ?? 0).getTime();
      const known = latest.get(name);
      if (!known || time > known.time) latest.set(name, { time, message: `${event.reason ?? ''}: ${event.message ?? ''}` });
    }
    return new Map([...latest].map(([name, { message }]) => [name, message]));
  };
  return async (namespace, name) => {
    const now = Date.now();
    let entry = byNamespace.get(namespace);
    if (!entry || now - entry.at > maxAgeMs) {
      entry = { at: now, latest: load(namespace) };
      byNamespace.set(namespace, entry);
      // A failed LIST is not kept: the next caller tries again.
      entry.latest.catch(() => byNamespace.delete(namespace));
    }
    return (await entry.latest).get(name);
  };
}
