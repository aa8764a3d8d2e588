// Per-user quota on workspace PVCs: would creating this PVC exceed the policy's limits? Pure: the caller brings
// the user's existing PVCs (from a watch cache at admission, from a List in the controller).
import { formatBytes, quantityBytes } from '../naming/quantity.ts';
import type { Policy } from '../policy/types.ts';
import type { ClaimPlan, ObservedClaim } from './plan-types.ts';

export interface QuotaUsage {
  claims: number;
  bytes: number;
}

export function hasQuota(policy: Policy): boolean {
  return policy.spec.quota.maxClaimsPerUser > 0 || policy.spec.quota.maxStoragePerUser !== '';
}

/** The message naming the limit and the current usage, or undefined when the new PVC fits. */
export function quotaViolation(policy: Policy, plan: ClaimPlan, userClaims: readonly ObservedClaim[]): string | undefined {
  if (plan.role !== 'workspace' || !hasQuota(policy)) return undefined;
  const user = plan.identityLabels[policy.spec.identity.userLabel] ?? '';
  const others = userClaims.filter((claim) => !claim.deleting && claim.name !== plan.name);
  const usage: QuotaUsage = { claims: others.length, bytes: others.reduce((sum, claim) => sum + claim.requestedBytes, 0) };
  const { maxClaimsPerUser, maxStoragePerUser } = policy.spec.quota;
  const where = `user "${user}" in namespace ${plan.namespace}`;
  if (maxClaimsPerUser > 0 && usage.claims + 1 > maxClaimsPerUser) {
    return `QuotaExceeded: ${where} already has ${usage.claims} workspace PVCs (${formatBytes(usage.bytes)}); policy "${policy.name}" allows at most ${maxClaimsPerUser} (spec.quota.maxClaimsPerUser), so PVC ${plan.name} is not created`;
  }
  const limit = maxStoragePerUser === '' ? undefined : quantityBytes(maxStoragePerUser);
  const needed = quantityBytes(plan.size) ?? 0;
  if (limit !== undefined && usage.bytes + needed > limit) {
    return `QuotaExceeded: ${where} already requests ${formatBytes(usage.bytes)} in ${usage.claims} workspace PVCs; ${plan.size} more for PVC ${plan.name} would exceed ${maxStoragePerUser} (spec.quota.maxStoragePerUser of policy "${policy.name}")`;
  }
  return undefined;
}
