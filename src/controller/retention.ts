// When an unused workspace PVC is deleted. Pure: the caller brings the policy, the last-use time and the clock.
import type { RetentionSpec } from '../policy/types.ts';

export type RetentionDecision =
  | { action: 'keep' }
  /** No unused-since time yet: record now, and look again when the period is over. */
  | { action: 'mark'; recheckAfterMs: number }
  | { action: 'wait'; recheckAfterMs: number }
  | { action: 'delete'; reason: string };

/** How long after the last Pod the PVC may go: the grace period under Delete, the idle TTL if set, else never. */
export function deletionDelayMs(retention: RetentionSpec): number | undefined {
  const delays: number[] = [];
  if (retention.whenUnused === 'Delete') delays.push(retention.gracePeriodSeconds * 1000);
  if (retention.idleTTLSeconds > 0) delays.push(retention.idleTTLSeconds * 1000);
  return delays.length > 0 ? Math.min(...delays) : undefined;
}

export function retentionDecision(retention: RetentionSpec, unusedSince: string | undefined, now: number): RetentionDecision {
  const delayMs = deletionDelayMs(retention);
  if (delayMs === undefined) return { action: 'keep' };
  const since = unusedSince === undefined ? Number.NaN : Date.parse(unusedSince);
  if (Number.isNaN(since)) return { action: 'mark', recheckAfterMs: delayMs };
  const unusedMs = now - since;
  if (unusedMs < delayMs) return { action: 'wait', recheckAfterMs: delayMs - unusedMs };
  const rule =
    retention.whenUnused === 'Delete' && delayMs === retention.gracePeriodSeconds * 1000
      ? `spec.retention.whenUnused: Delete, gracePeriodSeconds: ${retention.gracePeriodSeconds}`
      : `spec.retention.idleTTLSeconds: ${retention.idleTTLSeconds}`;
  return { action: 'delete', reason: `no Pod has used it for ${Math.round(unusedMs / 1000)}s (${rule})` };
}
