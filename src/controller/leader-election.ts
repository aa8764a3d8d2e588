// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: acquire when the lease is free or its
// holder has not renewed for leaseDuration (measured on OUR clock from when we last saw it change, so clock skew
// between replicas does not matter), renew every retryPeriod, give up leading when no renewal succeeded within
// renewDeadline (< leaseDuration, so we stop before anyone else may start), and release the lease on shutdown.
import type * as k8s from '@kubernetes/client-node';
import { V1MicroTime } from '../kube/client-parts.ts';
import type { Logger } from 'pino';
import { apiErrorMessage } from '../kube/api-errors.ts';
import type { LeaseClient } from '../kube/leases.ts';

export interface LeaderElectionOptions {
  leases: LeaseClient;
  namespace: string;
  name: string;
  /** Unique per replica, e.g. Pod name + random suffix. */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  onLeaderChange?: (isLeader: boolean) => void;
}

export interface LeadershipCallbacks {
  /** Called on winning the lease; `lost` aborts when leadership ends (lost or released). */
  onStartedLeading(lost: AbortSignal): Promise<void> | void;
  /** Called after leading ends; in-flight work should be finished or abandoned before it resolves. */
  onStoppedLeading(): Promise<void> | void;
}

export function checkLeaderTimings(options: Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>): string[] {
  const problems: string[] = [];
  if (!(options.leaseDurationMs > options.renewDeadlineMs)) problems.push('--lease-duration must be longer than --renew-deadline');
  if (!(options.renewDeadlineMs > options.retryPeriodMs)) problems.push('--renew-deadline must be longer than --retry-period');
  if (!(options.retryPeriodMs > 0)) problems.push('--retry-period must be positive');
  return problems;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class LeaderElector {
  private readonly options: LeaderElectionOptions;
  private observedRecord = '';
  private observedAt = 0;
  private leading = false;

  constructor(options: LeaderElectionOptions) {
    this.options = options;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns until `stop` aborts: acquire, lead, and campaign again if leadership is lost. Releases on stop. */
  async run(callbacks: LeadershipCallbacks, stop: AbortSignal): Promise<void> {
    const { logger } = this.options;
    while (!stop.aborted) {
      if (!(await this.acquire(stop))) break;
      this.setLeading(true);
      logger.info({ lease: this.leaseRef(), identity: this.options.identity }, 'became leader');
      const lost = new AbortController();
      const onStop = () => lost.abort(new Error('shutting down'));
      stop.addEventListener('abort', onStop, { once: true });
      // Renewal runs from the first moment: starting to lead (e.g. syncing a cache) may take longer than the lease.
      const renewing = this.renewUntilLost(lost.signal).finally(() => {
        if (!lost.signal.aborted) lost.abort(new Error('leadership lost'));
      });
      try {
        const lostWhileStarting = new Promise<void>((resolve) => lost.signal.addEventListener('abort', () => resolve(), { once: true }));
        await Promise.race([callbacks.onStartedLeading(lost.signal), lostWhileStarting]);
        await renewing;
      } finally {
        stop.removeEventListener('abort', onStop);
        if (!lost.signal.aborted) lost.abort(new Error('leadership lost'));
        // Stop acting first (finish in-flight work), then let the others in.
        await callbacks.onStoppedLeading();
        this.setLeading(false);
        if (stop.aborted) await this.release();
        else logger.warn({ lease: this.leaseRef() }, 'lost leadership; campaigning again');
      }
    }
  }

  private leaseRef(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.options.onLeaderChange?.(leading);
  }

  private async acquire(stop: AbortSignal): Promise<boolean> {
    while (!stop.aborted) {
      if (await this.tryAcquireOrRenew()) return true;
      await sleep(this.options.retryPeriodMs * (1 + Math.random() * 0.2), stop);
    }
    return false;
  }

  private async renewUntilLost(lost: AbortSignal): Promise<void> {
    let lastRenew = Date.now();
    while (!lost.aborted) {
      await sleep(this.options.retryPeriodMs, lost);
      if (lost.aborted) return;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew >= this.options.renewDeadlineMs) {
        this.options.logger.error({ lease: this.leaseRef(), renewDeadlineMs: this.options.renewDeadlineMs }, 'could not renew the lease in time');
        return;
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { leases, namespace, name, identity, leaseDurationMs, logger } = this.options;
    const now = new V1MicroTime();
    const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    try {
      const current = await leases.get(namespace, name);
      if (!current) {
        return await leases.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        });
      }
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const record = `${holder}|${spec.renewTime ? new Date(spec.renewTime).getTime() : ''}|${current.metadata?.resourceVersion ?? ''}`;
      if (record !== this.observedRecord) {
        this.observedRecord = record;
        this.observedAt = Date.now();
      }
      const heldByOther = holder !== '' && holder !== identity;
      const theirDurationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (heldByOther && this.observedAt + theirDurationMs > Date.now()) return false;
      const next: k8s.V1Lease = {
        ...current,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds,
          renewTime: now,
          // Re-wrapped so that it is written back with the microsecond format the API server expects.
          acquireTime: holder === identity && spec.acquireTime ? new V1MicroTime(spec.acquireTime) : now,
          ...(holder === identity ? {} : { leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
        },
      };
      return await leases.replace(next);
    } catch (error) {
      logger.warn({ lease: `${namespace}/${name}`, err: apiErrorMessage(error) }, 'lease request failed');
      return false;
    }
  }

  /** Hands the lease back so another replica takes over at once instead of after leaseDuration. */
  private async release(): Promise<void> {
    const { leases, namespace, name, identity, logger } = this.options;
    try {
      const current = await leases.get(namespace, name);
      if (!current || current.spec?.holderIdentity !== identity) return;
      const released = await leases.replace({
        ...current,
        spec: {
          ...current.spec,
          ...(current.spec?.acquireTime ? { acquireTime: new V1MicroTime(current.spec.acquireTime) } : {}),
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: new V1MicroTime(),
        },
      });
      logger.info({ lease: `${namespace}/${name}`, released }, 'lease released');
    } catch (error) {
      logger.warn({ lease: `${namespace}/${name}`, err: apiErrorMessage(error) }, 'cannot release the lease');
    }
  }
}
