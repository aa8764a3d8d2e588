// Reconciles one PVC key (namespace/name): make the planned PVC exist (Get → Create on NotFound, 409 = someone was
// faster, re-read), refuse PVCs of another identity, adopt when allowed, then release the Pods waiting for it.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { claimState, provenClaims, type ClaimState } from '../admission/claim-ownership.ts';
import { claimStatement, ownershipProof, provenByOwnLabels } from '../admission/ownership-proof.ts';
import type { ClaimPlan } from '../admission/plan-types.ts';
import { hasQuota, quotaViolation } from '../admission/quota.ts';
import { hasStorageGate } from '../admission/scheduling-gate.ts';
import { holdOf } from '../admission/migration-hold.ts';
import { apiErrorMessage } from '../kube/api-errors.ts';
import { observeClaim, type ClaimClient } from '../kube/claims.ts';
import type { PodClient } from '../kube/pods.ts';
import type { ControllerMetrics, ReconcileResult } from '../metrics/controller-metrics.ts';
import type { Policy } from '../policy/types.ts';
import { eventReasons, podTarget, type EventRecorder, type EventTarget } from '../kube/events.ts';
import { preparationEnabled, type PreparationOutcome, type PreparationReconciler } from './preparation-reconciler.ts';
import { retentionDecision } from './retention.ts';
import type { SeedScriptKeeper } from './seed-script-keeper.ts';
import { lastUsedAnnotation, managedByValue, ownershipLabels, ownershipProofAnnotation } from '../labels.ts';

export interface ClaimUsers {
  /** The live (not deleting) Pods that mount this PVC, with the plan and policy they were admitted under. */
  pods: k8s.V1Pod[];
  plan: ClaimPlan;
  policy: Policy;
  /**
   * The policy each Pod was admitted under (several policies may share one shared PVC); `policy` when unknown.
   * Directory preparation follows each Pod's own policy.
   */
  policyOf?(pod: k8s.V1Pod): Policy | undefined;
}

export interface ReconcileOutcome {
  result: ReconcileResult;
  /** Reconcile again after this long (e.g. to check a Pending PVC); the queue's backoff applies to errors. */
  requeueAfterMs?: number;
}

export interface ReconcilerDependencies {
  claims: ClaimClient;
  pods: PodClient;
  events: EventRecorder;
  metrics: ControllerMetrics;
  logger: Logger;
  /**
   * The PVC as the watch cache has it, or undefined when the cache has not synced (then the API is asked). Reading
   * the cache instead of a Get halves the API calls of a burst; every write is still checked by the API server
   * (Create answers 409 if the cache missed a PVC, updates carry resourceVersion).
   */
  cachedClaim?(namespace: string, name: string): { claim: k8s.V1PersistentVolumeClaim | undefined } | undefined;
  /** The latest Event about a PVC, to say why it is still Pending. */
  claimEventMessage(namespace: string, name: string): Promise<string | undefined>;
  /**
   * The ownership key (read from its Secret, which is created when there is none; see kube/ownership-key.ts): the
   * PVCs the controller creates or adopts carry a proof under it, and only PVCs proven under it count as ours.
   */
  ownershipKey(): Promise<Uint8Array>;
  /** Directory preparation for policies with spec.shared.preparation; without it such Pods stay gated, with a Warning. */
  preparation?: PreparationReconciler;
  /** The seed-script ConfigMaps (configMap delivery): a Pod that mounts one is released only once it exists. */
  seedScripts?: SeedScriptKeeper;
  now?: () => number;
}

const claimTarget = (claim: k8s.V1PersistentVolumeClaim | undefined, plan: ClaimPlan): EventTarget => ({
  kind: 'PersistentVolumeClaim',
  namespace: plan.namespace,
  name: plan.name,
  ...(claim?.metadata?.uid ? { uid: claim.metadata.uid } : {}),
});

const terminatingRecheckMs = 2_000;
const quotaRecheckMs = 60_000;
const pendingReasonRecheckMs = 5_000;
/** How long after the Pending warning the binder's reason is looked for. */
const pendingReasonWindowMs = 120_000;

/**
 * When to look at a Pending PVC again, `waitedMs` after its creation, given the warning limit and whether the
 * binder's reason is known: at the limit; then, while the reason is unknown, after 5 s and at doubling intervals
 * (5, 10, 20, 40, 80 s) for two minutes; after that only the periodic resync. Looking every 5 s for as long as the
 * PVC stayed Pending made 10,000 PVCs without a provisioner list Events 2,000 times a second, which saturated the
 * API server.
 */
export function pendingRecheckAfterMs(waitedMs: number, limitMs: number, reasonKnown: boolean): number | undefined {
  if (waitedMs < limitMs) return limitMs - waitedMs + 100;
  const overMs = waitedMs - limitMs;
  if (reasonKnown || overMs >= pendingReasonWindowMs) return undefined;
  return Math.max(pendingReasonRecheckMs, overMs);
}
const missingSharedRecheckMs = 30_000;

export class ClaimReconciler {
  private readonly deps: ReconcilerDependencies;
  /** Quota checks and creates of one user run one at a time, so that parallel workers cannot both fit the last slot. */
  private readonly userLocks = new Map<string, Promise<unknown>>();
  /**
   * Pods whose gate this controller removed (uid → the resourceVersion the patch was made from). Until the watch
   * brings a newer version, the cache still shows the gate; a reconcile in that window (the PVC's own watch event
   * arrives first) would patch again and be refused (422) by an API server that is already the bottleneck.
   */
  private readonly released = new Map<string, string>();
  /**
   * PVCs this controller created (namespace/name → the resourceVersion of the create's answer). Their ADDED event
   * is the very object the reconcile that created them went on with: reconciling it again learns nothing.
   */
  private readonly created = new Map<string, string>();

  constructor(deps: ReconcilerDependencies) {
    this.deps = deps;
  }

  async reconcile(users: ClaimUsers): Promise<ReconcileOutcome> {
    const { plan, policy, pods } = users;
    const { claims, events, logger, metrics } = this.deps;
    const log = logger.child({ pvc: `${plan.namespace}/${plan.name}`, policy: policy.name });

    const key = await this.key();
    const cached = this.deps.cachedClaim?.(plan.namespace, plan.name);
    let live = cached ? cached.claim : await claims.get(plan.namespace, plan.name);
    let state = this.stateOf(plan, live, policy, key);

    if (state.state === 'missing' && !state.terminating) {
      if (!plan.create) {
        const message = `shared PVC ${plan.name} does not exist and policy "${policy.name}" does not create it (spec.provisioning.shared.createIfMissing); the Pod waits until it is created`;
        for (const pod of pods) events.warning(podTarget(pod), eventReasons.missingShared, message);
        log.warn({ pods: pods.map((pod) => pod.metadata?.name) }, 'shared PVC missing');
        return { result: 'requeue', requeueAfterMs: missingSharedRecheckMs };
      }
      let outcome: k8s.V1PersistentVolumeClaim | 'exists' | 'quota';
      try {
        outcome = await this.createWithinQuota(users, key, log);
      } catch (error) {
        metrics.error('create_pvc');
        const message = `cannot create PVC ${plan.name}: ${apiErrorMessage(error)}`;
        for (const pod of pods) events.warning(podTarget(pod), eventReasons.failed, message);
        throw new Error(message, { cause: error });
      }
      if (outcome === 'quota') return { result: 'requeue', requeueAfterMs: quotaRecheckMs };
      live = outcome === 'exists' ? await claims.get(plan.namespace, plan.name) : outcome;
      if (outcome !== 'exists') {
        const version = outcome.metadata?.resourceVersion;
        if (version !== undefined) {
          // Bounded: an entry whose event came before the answer stays until the PVC's next event.
          if (this.created.size >= 10_000) this.created.clear();
          this.created.set(`${plan.namespace}/${plan.name}`, version);
        }
        metrics.claimCreated(plan.role);
        log.info({ pods: pods.map((pod) => pod.metadata?.name) }, 'PVC created');
        // One Event per waiting Pod, none on the PVC: `kubectl describe pod` is where a user asks why the Pod
        // waited, and the PVC's own Events are its binder's. Each Event is an API write under a burst of Pods.
        const message = `created PVC ${plan.name} (${plan.size}, ${plan.accessModes.join(',')}, storage class ${plan.storageClassName ?? '(cluster default)'})`;
        for (const pod of pods) events.normal(podTarget(pod), eventReasons.provisioned, message);
      } else {
        log.info('PVC appeared before our create (409); checking its owner');
      }
      state = this.stateOf(plan, live, policy, key);
    }

    if (state.state === 'missing') {
      // Created and gone again at once, or being deleted: look again shortly.
      return { result: 'requeue', requeueAfterMs: terminatingRecheckMs };
    }
    if (state.state === 'conflict') {
      for (const pod of pods) events.warning(podTarget(pod), eventReasons.conflict, state.reason);
      events.warning(claimTarget(live, plan), eventReasons.conflict, state.reason);
      log.warn({ reason: state.reason, pods: pods.map((pod) => pod.metadata?.name) }, 'PVC belongs to another identity');
      // Nothing to retry: a change of the PVC (deleted, relabelled) enqueues it again.
      return { result: 'conflict' };
    }
    if (state.state === 'unproven') {
      // A PVC planted under the planned name (forged labels, an ephemeral volume's PVC, a restored snapshot...):
      // never used, adopted or deleted; its Pods stay gated until it is gone.
      metrics.unprovenClaim(plan.namespace, plan.role);
      for (const pod of pods) events.warning(podTarget(pod), eventReasons.unproven, state.reason);
      events.warning(claimTarget(live, plan), eventReasons.unproven, state.reason);
      log.warn({ reason: state.reason, pods: pods.map((pod) => pod.metadata?.name) }, 'PVC of a planned name carries no valid ownership proof');
      return { result: 'conflict' };
    }
    if (state.state === 'adoptable' && live) {
      await claims.adopt(live, plan.labels, { [ownershipProofAnnotation]: ownershipProof(key, claimStatement(plan)) });
      const message = `adopted existing PVC ${plan.name} (policy "${policy.name}" allows adopting PVCs with the identity's labels)`;
      events.normal(claimTarget(live, plan), eventReasons.adopted, message);
      for (const pod of pods) events.normal(podTarget(pod), eventReasons.adopted, message);
      log.info('PVC adopted');
    }

    const preparation = await this.prepareDirectories(users);
    const scripts = this.deps.seedScripts ? await this.deps.seedScripts.ready(preparation.ready) : { ready: preparation.ready };
    if (scripts.requeueAfterMs !== undefined) preparation.requeueAfterMs = Math.min(preparation.requeueAfterMs ?? scripts.requeueAfterMs, scripts.requeueAfterMs);
    await this.releasePods(this.notHeld(users, scripts.ready, log), log);
    // In use again: the retention clock starts over when the last Pod leaves.
    if (plan.role === 'workspace' && live?.metadata?.annotations?.[lastUsedAnnotation] !== undefined) {
      await claims.setAnnotation(live, lastUsedAnnotation, undefined);
    }
    const outcome = await this.checkPending(users, live);
    if (preparation.requeueAfterMs === undefined) return outcome;
    return { ...outcome, requeueAfterMs: Math.min(outcome.requeueAfterMs ?? preparation.requeueAfterMs, preparation.requeueAfterMs) };
  }

  /** The gated Pods whose directories are ready (all of them unless the policy prepares directories). */
  private async prepareDirectories(users: ClaimUsers): Promise<PreparationOutcome> {
    const byPolicy = new Map<Policy, k8s.V1Pod[]>();
    for (const pod of users.pods.filter(hasStorageGate)) {
      const policy = users.policyOf?.(pod) ?? users.policy;
      const group = byPolicy.get(policy);
      if (group) group.push(pod);
      else byPolicy.set(policy, [pod]);
    }
    const outcome: PreparationOutcome = { ready: [] };
    const wait = (ms: number) => (outcome.requeueAfterMs = Math.min(outcome.requeueAfterMs ?? ms, ms));
    for (const [policy, pods] of byPolicy) {
      if (!preparationEnabled(policy)) {
        outcome.ready.push(...pods);
      } else if (!this.deps.preparation) {
        const message = `policy "${policy.name}" prepares directories (spec.shared.preparation), but this controller runs without directory preparation; the Pod stays gated`;
        for (const pod of pods) this.deps.events.warning(podTarget(pod), eventReasons.preparationFailed, message);
        wait(missingSharedRecheckMs);
      } else {
        const prepared = await this.deps.preparation.prepare(pods, policy, `${users.plan.namespace}/${users.plan.name}`);
        outcome.ready.push(...prepared.ready);
        if (prepared.requeueAfterMs !== undefined) wait(prepared.requeueAfterMs);
      }
    }
    return outcome;
  }

  /**
   * A PVC no live Pod mounts: apply the retention policy. Only workspace PVCs this controller manages are ever
   * deleted (managed-by + identity hash); `stillUnused` is asked again right before deleting.
   */
  async reconcileUnused(
    namespace: string,
    name: string,
    policies: readonly Policy[],
    stillUnused: () => boolean,
  ): Promise<ReconcileOutcome> {
    const { claims, events, logger, metrics } = this.deps;
    const live = await claims.get(namespace, name);
    const labels = live?.metadata?.labels ?? {};
    if (!live || live.metadata?.deletionTimestamp) return { result: 'skipped' };
    if (labels[ownershipLabels.managedBy] !== managedByValue || labels[ownershipLabels.identityHash] === undefined) {
      return { result: 'skipped' };
    }
    // Labels can be forged: only a PVC proven to be the workspace its labels name is ever deleted.
    if (!provenByOwnLabels(await this.key(), namespace, observeClaim(live))) return { result: 'skipped' };
    const policy = policies.find((candidate) => candidate.name === labels[ownershipLabels.policy]);
    if (!policy) return { result: 'skipped' };
    const now = this.deps.now?.() ?? Date.now();
    const decision = retentionDecision(policy.spec.retention, live.metadata?.annotations?.[lastUsedAnnotation], now);
    const log = logger.child({ pvc: `${namespace}/${name}`, policy: policy.name });
    switch (decision.action) {
      case 'keep':
        return { result: 'skipped' };
      case 'mark':
        await claims.setAnnotation(live, lastUsedAnnotation, new Date(now).toISOString());
        log.info({ deleteInMs: decision.recheckAfterMs }, 'PVC unused; retention clock started');
        return { result: 'success', requeueAfterMs: decision.recheckAfterMs };
      case 'wait':
        return { result: 'success', requeueAfterMs: decision.recheckAfterMs };
      case 'delete': {
        if (!stillUnused()) return { result: 'requeue', requeueAfterMs: 0 };
        // Preconditions: if the PVC changed since we read it (e.g. adopted, relabelled), the delete fails with 409.
        await claims.delete(namespace, name, { uid: live.metadata?.uid ?? '', resourceVersion: live.metadata?.resourceVersion ?? '' });
        metrics.claimDeleted();
        events.normal(claimTarget(live, { namespace, name } as ClaimPlan), eventReasons.deleted, `deleted PVC ${name}: ${decision.reason}`);
        log.info({ reason: decision.reason }, 'unused PVC deleted');
        return { result: 'success' };
      }
    }
  }

  private async key(): Promise<Uint8Array> {
    try {
      return await this.deps.ownershipKey();
    } catch (error) {
      this.deps.metrics.error('ownership_key');
      throw error;
    }
  }

  private async createWithinQuota(
    users: ClaimUsers,
    key: Uint8Array,
    log: Logger,
  ): Promise<k8s.V1PersistentVolumeClaim | 'exists' | 'quota'> {
    const { plan, policy, pods } = users;
    const proof = ownershipProof(key, claimStatement(plan));
    if (plan.role !== 'workspace' || !hasQuota(policy)) return this.deps.claims.create(plan, proof);
    const userLabel = policy.spec.identity.userLabel;
    const user = plan.identityLabels[userLabel] ?? '';
    const lockKey = `${plan.namespace}/${userLabel}=${user}`;
    const previous = this.userLocks.get(lockKey) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(async () => {
      // Only proven PVCs count: a planted one with forged labels must not use up the user's quota.
      const userClaims = provenClaims(key, plan.namespace, await this.deps.claims.listOfUser(plan.namespace, userLabel, user));
      const violation = quotaViolation(policy, plan, userClaims);
      if (violation) {
        for (const pod of pods) this.deps.events.warning(podTarget(pod), eventReasons.quotaExceeded, violation);
        log.warn({ reason: violation }, 'quota exceeded; PVC not created');
        return 'quota' as const;
      }
      return this.deps.claims.create(plan, proof);
    });
    this.userLocks.set(lockKey, run);
    try {
      return await run;
    } finally {
      if (this.userLocks.get(lockKey) === run) this.userLocks.delete(lockKey);
    }
  }

  private stateOf(plan: ClaimPlan, live: k8s.V1PersistentVolumeClaim | undefined, policy: Policy, key: Uint8Array): ClaimState {
    return claimState(plan, live ? observeClaim(live) : undefined, policy.spec.provisioning.adoptExisting, key);
  }

  /** The Pods no migration holds: a held one keeps its gate until the hold leaves its policy (which requeues it). */
  private notHeld(users: ClaimUsers, pods: k8s.V1Pod[], log: Logger): k8s.V1Pod[] {
    return pods.filter((pod) => {
      const policy = users.policyOf?.(pod) ?? users.policy;
      const hold = holdOf(policy, pod.metadata?.namespace ?? users.plan.namespace, pod.metadata?.labels);
      if (hold) log.debug({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, plan: hold.plan }, 'pod held by a migration');
      return hold === undefined;
    });
  }

  /**
   * Whether a watch event of a PVC is exactly the PVC as this controller's create answered it (then it needs no
   * reconcile). Any event of the PVC ends the expectation, so only its first version is ever skipped.
   */
  isOwnCreation(claim: k8s.V1PersistentVolumeClaim): boolean {
    const key = `${claim.metadata?.namespace}/${claim.metadata?.name}`;
    const version = this.created.get(key);
    if (version === undefined) return false;
    this.created.delete(key);
    return version === claim.metadata?.resourceVersion && !claim.metadata?.deletionTimestamp;
  }

  /**
   * The watch brought a version of a Pod (or its deletion): a gate removed from an older version is no longer
   * pending. Called for every Pod event, so that `released` holds only Pods whose new version is still in flight.
   */
  observePod(pod: k8s.V1Pod, deleted = false): void {
    const uid = pod.metadata?.uid;
    if (uid === undefined || !this.released.has(uid)) return;
    if (deleted || this.released.get(uid) !== pod.metadata?.resourceVersion) this.released.delete(uid);
  }

  /** Every planned PVC exists and is usable (and the directories are prepared): lift the scheduling gate. */
  private async releasePods(pods: k8s.V1Pod[], log: Logger): Promise<void> {
    for (const pod of pods) {
      const uid = pod.metadata?.uid;
      const version = pod.metadata?.resourceVersion;
      // Removed already from this very version: the cached copy is only stale.
      if (uid !== undefined && version !== undefined && this.released.get(uid) === version) continue;
      try {
        const result = await this.deps.pods.removeStorageGate(pod);
        if (result === 'removed' && uid !== undefined && version !== undefined) this.released.set(uid, version);
        if (result === 'removed') {
          this.deps.metrics.gateRemoved();
          log.info({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}` }, 'scheduling gate removed');
        }
      } catch (error) {
        this.deps.metrics.error('remove_gate');
        throw new Error(`cannot remove the scheduling gate of pod ${pod.metadata?.name}: ${apiErrorMessage(error)}`, { cause: error });
      }
    }
  }

  /** A PVC that stays Pending (no default StorageClass, no matching PV) is reported on its Pods, with the reason. */
  private async checkPending(users: ClaimUsers, live: k8s.V1PersistentVolumeClaim | undefined): Promise<ReconcileOutcome> {
    const phase = live?.status?.phase ?? 'Pending';
    if (phase !== 'Pending') return { result: 'success' };
    const now = this.deps.now?.() ?? Date.now();
    const created = live?.metadata?.creationTimestamp ? new Date(live.metadata.creationTimestamp).getTime() : now;
    const limitMs = users.policy.spec.provisioning.pendingWarningSeconds * 1000;
    const waitedMs = now - created;
    if (waitedMs < limitMs) return { result: 'success', requeueAfterMs: limitMs - waitedMs + 100 };
    const why = await this.deps.claimEventMessage(users.plan.namespace, users.plan.name).catch(() => undefined);
    // The message names the limit, not the time waited, so repeats are recognised as one and not re-recorded.
    const message = `PVC ${users.plan.name} is still Pending after more than ${users.policy.spec.provisioning.pendingWarningSeconds}s${why ? ` (${why})` : ''}; check its StorageClass (${users.plan.storageClassName ?? 'cluster default'}) and provisioner`;
    for (const pod of users.pods) this.deps.events.warning(podTarget(pod), eventReasons.pending, message);
    // The binder may not have said why yet: look again (for a while), so that a Warning with the reason follows.
    const recheck = pendingRecheckAfterMs(waitedMs, limitMs, why !== undefined);
    return recheck === undefined ? { result: 'success' } : { result: 'success', requeueAfterMs: recheck };
  }
}
