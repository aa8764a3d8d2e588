// The identities a run holds on the target policy while it copies them (src/policy/migration-hold.ts): each item's
// identity as the webhook matches it, the thread only where the target policy keeps threads apart.
import { policyNeedsThread } from '../admission/identity.ts';
import type { HeldIdentity } from '../policy/migration-hold.ts';
import type { Policy } from '../policy/types.ts';
import type { PlanItem } from './plan.ts';

/** Per item key, the identity the run holds while that item is copied. */
export function heldIdentities(items: readonly PlanItem[], target: Policy): Map<string, HeldIdentity> {
  const byThread = policyNeedsThread(target);
  return new Map(
    items.flatMap((item) => {
      if (item.user === undefined) return [];
      const identity: HeldIdentity = byThread && item.thread !== undefined ? { user: item.user, thread: item.thread } : { user: item.user };
      return [[item.key, identity] as const];
    }),
  );
}

/** The distinct identities of `held`, in a stable order. */
export function distinctIdentities(held: Iterable<HeldIdentity>): HeldIdentity[] {
  const seen = new Map<string, HeldIdentity>();
  for (const identity of held) seen.set(JSON.stringify([identity.user, identity.thread ?? null]), identity);
  return [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, identity]) => identity);
}
