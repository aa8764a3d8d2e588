// Requester binding: who may create (or debug) a sandbox Pod for which user id.
import type { Policy } from '../../policy/types.ts';
import type { RequesterInfo } from '../plan-types.ts';
import { matchRequester } from './exemptions.ts';

/** The user id a requester may act for, or undefined when its username does not map to one. */
export function ownUserId(policy: Policy, requester: RequesterInfo): string | undefined {
  const username = typeof requester.username === 'string' ? requester.username : '';
  const { stripPrefix } = policy.spec.isolation.requesters.usernameTransform;
  if (!username.startsWith(stripPrefix)) return undefined;
  const id = username.slice(stripPrefix.length);
  return id === '' ? undefined : id;
}

/** Why `requester` may not act for `userId` under `policy`, or undefined when it may. */
export function requesterBindingDenial(policy: Policy, userId: string, requester: RequesterInfo): string | undefined {
  const requesters = policy.spec.isolation.requesters;
  if (!requesters.enforce) return undefined;
  if (matchRequester({ users: requesters.trustedUsers, groups: requesters.trustedGroups }, requester)) return undefined;
  const username = typeof requester.username === 'string' ? requester.username : '';
  const own = ownUserId(policy, requester);
  if (own === userId) return undefined;
  const allowed =
    own === undefined
      ? `may not use any user id (its username does not start with ${JSON.stringify(requesters.usernameTransform.stripPrefix)})`
      : `may only use user id ${JSON.stringify(own)}`;
  return `requester ${JSON.stringify(username)} ${allowed}, not ${JSON.stringify(userId)} [rule RequesterBinding, spec.isolation.requesters of policy "${policy.name}"]`;
}
