// Directory preparation in the reconcile loop: for gated sandbox Pods of a policy with spec.shared.preparation,
// run one preparation Pod per distinct target (identity prefix, directories, owner, mode), wait for it without
// blocking a worker (requeue; the preparation-Pod watch wakes the key up early), delete it once finished, and tell
// the caller which sandbox Pods may be released. Failures are reported on the sandbox Pods and retried with backoff.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { readIdentity, type SandboxIdentity } from '../admission/identity.ts';
import { apiErrorMessage } from '../kube/api-errors.ts';
import type { PreparationPodClient } from '../kube/preparation-pods.ts';
import type { ControllerMetrics } from '../metrics/controller-metrics.ts';
import type { Policy } from '../policy/types.ts';
import { preparationFailure, preparationKey, preparationPlan, preparationPodFor, preparationPodName, sandboxOwner, type PreparationTarget, type SandboxOwner } from './directory-preparation.ts';
import { eventReasons, podTarget, type EventRecorder } from '../kube/events.ts';
import { preparationLabel, preparationPurpose, preparationPurposeLabel, preparationWorkKeyAnnotation } from '../labels.ts';

export interface PreparationDependencies {
  client: PreparationPodClient;
  events: EventRecorder;
  metrics: ControllerMetrics;
  logger: Logger;
  /** Where preparation Pods run when the policy names no namespace: the controller's own namespace. */
  defaultNamespace: string;
  /** The image when the policy names none (`--preparation-image`); '' when not configured. */
  defaultImage: string;
  /** The preparation Pod from a watch cache; undefined when that namespace is not watched or not synced yet. */
  cachedPod?(namespace: string, name: string): { pod: k8s.V1Pod | undefined } | undefined;
  now?: () => number;
  /** First retry after a failed preparation; doubles per failure up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export interface PreparationOutcome {
  /** Pods whose directories are prepared, or that need no preparation: they may be released. */
  ready: k8s.V1Pod[];
  /** Check again after this long (a preparation is running, or waits for its retry). */
  requeueAfterMs?: number;
}

/** Finished preparations remembered per target; beyond this many the oldest are forgotten (a rerun is harmless). */
const rememberedLimit = 10_000;
const missingImageRecheckMs = 60_000;
const foreignPodRecheckMs = 60_000;
const terminatingRecheckMs = 1_000;
/** With a watch on the namespace a change wakes the key up; this is only the safety net. */
const watchedPollMs = 30_000;

export function preparationEnabled(policy: Policy): boolean {
  return policy.spec.mode === 'shared' && policy.spec.shared.preparation.enabled;
}

export class PreparationReconciler {
  private readonly deps: PreparationDependencies;
  /** Keys of targets prepared by this controller: later Pods with the same directories and owner start at once. */
  private readonly prepared = new Map<string, number>();
  /** Per target: failures so far, when to retry, and the failed Pod already handled (a stale cache may show it). */
  private readonly failures = new Map<string, { count: number; retryAt: number; handledUid?: string }>();

  constructor(deps: PreparationDependencies) {
    this.deps = deps;
  }

  /** `pods`: the gated Pods of one work key, all admitted under `policy`. */
  async prepare(pods: k8s.V1Pod[], policy: Policy, workKey: string): Promise<PreparationOutcome> {
    if (!preparationEnabled(policy) || pods.length === 0) return { ready: pods };
    const { events, metrics } = this.deps;
    const image = policy.spec.shared.preparation.image || this.deps.defaultImage;
    const ready: k8s.V1Pod[] = [];
    let requeueAfterMs: number | undefined;
    const waiting = new Map<string, { target: PreparationTarget; pods: k8s.V1Pod[] }>();
    for (const pod of pods) {
      const { identity } = readIdentity(pod.metadata?.labels, policy);
      // Planned Pods always have an identity; one without is left to the claim reconciler's own reports.
      if (!identity) continue;
      const owner = sandboxOwner(pod, policy.spec.container);
      if (!owner) {
        // Nobody to prepare for: the sandbox runs as its image's user. Holding it would block Pods that run as root
        // (for which kubelet's root-owned directories are right); without a uid the chown target is unknown.
        metrics.preparation('skipped');
        events.warning(
          podTarget(pod),
          eventReasons.preparationSkipped,
          `directories not prepared: the sandbox container declares no runAsUser (policy "${policy.name}" prepares directories for the sandbox's uid:gid); kubelet creates missing subPath directories as root`,
        );
        ready.push(pod);
        continue;
      }
      if (image === '') {
        events.warning(
          podTarget(pod),
          eventReasons.preparationFailed,
          `cannot prepare directories: no image for the preparation Pod; set spec.shared.preparation.image in policy "${policy.name}" or the controller's --preparation-image`,
        );
        requeueAfterMs = missingImageRecheckMs;
        continue;
      }
      const target = this.targetFor(policy, identity, owner);
      const key = preparationKey(target);
      if (this.prepared.has(key)) {
        ready.push(pod);
        continue;
      }
      const group = waiting.get(key);
      if (group) group.pods.push(pod);
      else waiting.set(key, { target, pods: [pod] });
    }

    const steps = await Promise.all(
      [...waiting].map(async ([key, group]) => ({ group, step: await this.stepOrReport(key, group.target, group.pods, image, workKey) })),
    );
    for (const { group, step } of steps) {
      if (step === 'ready') ready.push(...group.pods);
      else requeueAfterMs = Math.min(requeueAfterMs ?? step.waitMs, step.waitMs);
    }
    return requeueAfterMs === undefined ? { ready } : { ready, requeueAfterMs };
  }

  private targetFor(policy: Policy, identity: SandboxIdentity, owner: SandboxOwner): PreparationTarget {
    const settings = policy.spec.shared.preparation;
    return {
      namespace: settings.namespace || this.deps.defaultNamespace,
      claimName: settings.claimName,
      runAs: settings.runAs,
      mode: settings.mode,
      plan: preparationPlan(policy, identity),
      owner,
    };
  }

  /** Whether `pod` (admitted under `policy`) needs the preparation with this target key. */
  needs(pod: k8s.V1Pod, policy: Policy, key: string): boolean {
    if (!preparationEnabled(policy)) return false;
    const { identity } = readIdentity(pod.metadata?.labels, policy);
    const owner = sandboxOwner(pod, policy.spec.container);
    return identity !== undefined && owner !== undefined && preparationKey(this.targetFor(policy, identity, owner)) === key;
  }

  /** One target's API trouble (e.g. no rights in a namespace a policy names) must not hold the other targets up. */
  private async stepOrReport(key: string, target: PreparationTarget, pods: k8s.V1Pod[], image: string, workKey: string): Promise<'ready' | { waitMs: number }> {
    try {
      return await this.step(key, target, pods, image, workKey);
    } catch (error) {
      this.deps.metrics.error('preparation_pod');
      return this.reportApiFailure(key, target, pods, 'run', error);
    }
  }

  /** An API call about the preparation Pod failed: back off, and say so on the waiting sandbox Pods. */
  private reportApiFailure(key: string, target: PreparationTarget, pods: k8s.V1Pod[], verb: 'run' | 'create', error: unknown): { waitMs: number } {
    const waitMs = this.recordFailure(key, this.deps.now?.() ?? Date.now());
    const where = `${target.namespace}/${preparationPodName(key)}`;
    const message = `cannot ${verb} the directory-preparation Pod ${where}: ${apiErrorMessage(error)}; retrying in ${Math.round(waitMs / 1000)}s`;
    for (const pod of pods) this.deps.events.warning(podTarget(pod), eventReasons.preparationFailed, message);
    this.deps.logger.warn({ preparation: where, prefix: target.plan.prefix, err: apiErrorMessage(error), retryInMs: waitMs }, `cannot ${verb} preparation pod`);
    return { waitMs };
  }

  private async step(key: string, target: PreparationTarget, pods: k8s.V1Pod[], image: string, workKey: string): Promise<'ready' | { waitMs: number }> {
    const { client, events, metrics } = this.deps;
    const now = this.deps.now?.() ?? Date.now();
    const name = preparationPodName(key);
    const where = `${target.namespace}/${name}`;
    const log = this.deps.logger.child({ preparation: where, prefix: target.plan.prefix });
    const cached = this.deps.cachedPod?.(target.namespace, name);
    const live = cached ? cached.pod : await client.get(target.namespace, name);

    if (!live) {
      const failure = this.failures.get(key);
      if (failure && failure.retryAt > now) return { waitMs: failure.retryAt - now };
      try {
        const created = await client.create(preparationPodFor(target, image, { [preparationWorkKeyAnnotation]: workKey }));
        if (created === 'created') {
          metrics.preparationPodCreated();
          log.info({ pods: pods.map((pod) => pod.metadata?.name), directories: target.plan.directories }, 'preparation pod created');
        }
      } catch (error) {
        metrics.error('create_preparation_pod');
        return this.reportApiFailure(key, target, pods, 'create', error);
      }
      return { waitMs: cached ? watchedPollMs : 1_000 };
    }
    if (live.metadata?.deletionTimestamp) return { waitMs: terminatingRecheckMs };
    const labels = live.metadata?.labels ?? {};
    if (labels[preparationPurposeLabel] !== preparationPurpose || labels[preparationLabel] !== key) {
      const message = `cannot prepare directories: Pod ${where} exists and is not this preparation Pod; delete it`;
      for (const pod of pods) events.warning(podTarget(pod), eventReasons.preparationFailed, message);
      return { waitMs: foreignPodRecheckMs };
    }

    const phase = live.status?.phase;
    if (phase === 'Succeeded') {
      await client.delete(live);
      this.remember(key);
      this.failures.delete(key);
      metrics.preparation('succeeded');
      const directories = target.plan.directories.length > 0 ? ` (${target.plan.directories.join(', ')})` : '';
      const message = `prepared ${target.plan.prefix}${directories} on claim ${target.namespace}/${target.claimName} for ${target.owner.uid}:${target.owner.gid}, mode ${target.mode}`;
      for (const pod of pods) events.normal(podTarget(pod), eventReasons.prepared, message);
      log.info({ pods: pods.map((pod) => pod.metadata?.name) }, 'directories prepared');
      return 'ready';
    }
    if (phase === 'Failed') {
      const failure = this.failures.get(key);
      if (failure?.handledUid !== undefined && failure.handledUid === live.metadata?.uid) {
        return { waitMs: Math.max(failure.retryAt - now, terminatingRecheckMs) };
      }
      const why = preparationFailure(live);
      await client.delete(live);
      metrics.preparation('failed');
      const waitMs = this.recordFailure(key, now, live.metadata?.uid);
      const message = `directory preparation failed (Pod ${where}): ${why}; retrying in ${Math.round(waitMs / 1000)}s`;
      for (const pod of pods) events.warning(podTarget(pod), eventReasons.preparationFailed, message);
      log.warn({ reason: why, retryInMs: waitMs }, 'directory preparation failed');
      return { waitMs };
    }
    // Pending or Running: look again later; the watch (when there is one) brings the change earlier.
    const created = live.metadata?.creationTimestamp ? new Date(live.metadata.creationTimestamp).getTime() : now;
    return { waitMs: cached ? watchedPollMs : Math.min(10_000, Math.max(1_000, (now - created) / 2)) };
  }

  private recordFailure(key: string, now: number, handledUid?: string): number {
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    const waitMs = Math.min((this.deps.retryBaseMs ?? 5_000) * 2 ** Math.min(count - 1, 20), this.deps.retryMaxMs ?? 300_000);
    this.failures.set(key, { count, retryAt: now + waitMs, ...(handledUid !== undefined ? { handledUid } : {}) });
    return waitMs;
  }

  private remember(key: string): void {
    this.prepared.set(key, this.deps.now?.() ?? Date.now());
    if (this.prepared.size > rememberedLimit) {
      const oldest = this.prepared.keys().next().value;
      if (oldest !== undefined) this.prepared.delete(oldest);
    }
  }
}
