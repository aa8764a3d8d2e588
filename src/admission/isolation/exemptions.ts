// Matching a request's userInfo against lists of users and groups written in a policy.
import type { RequesterInfo } from '../plan-types.ts';

export interface RequesterList {
  users: readonly string[];
  groups: readonly string[];
}

/** The entry of `list` that `requester` matches ("user X" / "group Y"), or undefined. */
export function matchRequester(list: RequesterList, requester: RequesterInfo): string | undefined {
  const username = typeof requester.username === 'string' ? requester.username : undefined;
  if (username !== undefined && list.users.includes(username)) return `user ${username}`;
  const groups = Array.isArray(requester.groups) ? requester.groups : [];
  const group = groups.find((candidate) => typeof candidate === 'string' && list.groups.includes(candidate));
  return group === undefined ? undefined : `group ${group}`;
}
