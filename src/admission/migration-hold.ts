// Whether a sandbox Pod's identity is held by a migration into its policy (src/policy/migration-hold.ts): the webhook
// then gates it, and the controller keeps the gate until the hold is gone.
import type { MigrationHold } from '../policy/migration-hold.ts';
import type { Policy } from '../policy/types.ts';
import { policyNeedsThread } from './identity.ts';

/** The hold that keeps a Pod of `namespace` with `labels` behind the gate, if any. */
export function holdOf(policy: Policy, namespace: string, labels: Record<string, string> | undefined): MigrationHold | undefined {
  const holds = policy.holds ?? [];
  if (holds.length === 0) return undefined;
  const { userLabel, threadLabel } = policy.spec.identity;
  const user = labels?.[userLabel];
  const thread = labels?.[threadLabel];
  const byThread = policyNeedsThread(policy);
  return holds.find((hold) => {
    if (hold.namespace !== undefined && hold.namespace !== namespace) return false;
    if (hold.all) return true;
    return hold.identities.some((identity) => identity.user === user && (!byThread || identity.thread === undefined || identity.thread === thread));
  });
}

/** The admission warning of a held Pod. */
export function holdWarning(policy: Policy, hold: MigrationHold): string {
  const why = hold.error ? ` (${hold.error}; held as a precaution)` : '';
  return `sandbox-storage: this Pod waits behind the scheduling gate until migration ${hold.plan} into policy "${policy.name}" is done with its identity${why}`;
}
