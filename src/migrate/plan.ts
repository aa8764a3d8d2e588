// A migration plan from what the cluster holds, passed in as data: the source's claims and directories, the target
// policy, the state of each target. Per identity: where its data is, where it goes, how much, and every conflict.
import type { ObservedClaim } from '../admission/plan-types.ts';
import { provenByOwnLabels } from '../admission/ownership-proof.ts';
import { contentHash, workspaceClaimName } from '../naming/identity-names.ts';
import type { Policy } from '../policy/types.ts';
import { managedByValue, ownershipLabels } from '../labels.ts';
import { policyNeedsThread } from '../admission/identity.ts';
import { matchLayout, type LayoutIds } from './layout-template.ts';
import { sourcePathIds, type ResolvedSource } from './source.ts';
import { targetFor, type TargetLocation } from './target.ts';

export interface SourceClaim {
  claim: string;
  ids: LayoutIds;
  /** Why this claim's data must not be taken (e.g. a forged workspace PVC). */
  problems: string[];
}

/** The claims a source reads: the one named, those whose name matches the pattern, or the source policy's own. */
export function sourceClaims(resolved: ResolvedSource, claims: readonly ObservedClaim[], namespace: string, ownershipKey?: Uint8Array): SourceClaim[] {
  const { claims: which } = resolved;
  if ('fixed' in which) return [{ claim: which.fixed, ids: {}, problems: claims.some((claim) => claim.name === which.fixed) ? [] : [`source PVC ${which.fixed} not found in ${namespace}`] }];
  if ('pattern' in which) {
    return claims.flatMap((claim) => {
      const ids = matchLayout(which.pattern, claim.name);
      return ids ? [{ claim: claim.name, ids, problems: [] }] : [];
    });
  }
  const policy = which.workspacePolicy;
  const { userLabel, threadLabel } = policy.spec.identity;
  const { scope, claimNamePrefix } = policy.spec.workspace;
  return claims
    .filter((claim) => claim.labels[ownershipLabels.managedBy] === managedByValue && claim.labels[ownershipLabels.policy] === policy.name)
    .map((claim) => {
      const user = claim.labels[userLabel];
      const thread = scope === 'thread' ? claim.labels[threadLabel] : undefined;
      const ids: LayoutIds = {};
      if (user !== undefined) ids.user = user;
      if (thread !== undefined) ids.thread = thread;
      const problems: string[] = [];
      // Labels can be written by whoever may create a PVC: only a name and proof the controller made count.
      if (user === undefined || (scope === 'thread' && thread === undefined)) problems.push(`source PVC ${claim.name} lacks its identity labels`);
      else if (claim.name !== workspaceClaimName(claimNamePrefix, { scope, user, ...(thread !== undefined ? { thread } : {}) })) {
        problems.push(`source PVC ${claim.name} is not the workspace name of the identity its labels claim`);
      } else if (!provenByOwnLabels(ownershipKey, namespace, claim)) problems.push(`source PVC ${claim.name} has no valid ownership proof`);
      return { claim: claim.name, ids, problems };
    });
}

/** One directory of a source claim at the source template's depth, as an inventory Pod lists it. */
export interface SourceEntry {
  claim: string;
  /** Relative to the claim's root; '' for the root. */
  path: string;
  files: number;
  kib: number;
}

export type TargetState =
  | { state: 'absent' }
  | { state: 'empty' }
  | { state: 'notEmpty'; entries: number }
  | { state: 'migrated'; plan: string }
  | { state: 'blocked'; reason: string }
  | { state: 'claimMissing' };

export interface PlanItem {
  /** Stable key of the item (of its source location): names its run record. */
  key: string;
  user?: string;
  thread?: string;
  source: TargetLocation;
  target?: TargetLocation;
  files: number;
  kib: number;
  conflicts: string[];
  /** Set when the target already holds this plan's verified copy. */
  done?: boolean;
}

export interface PlanOptions {
  namespace: string;
  target: Policy;
  targetMount: string;
  /** thread → user, for a layout without a user id. */
  mapping?: ReadonlyMap<string, string>;
  /** The thread id of every identity, for a source without one whose target needs one. */
  thread?: string;
}

export function itemKey(source: TargetLocation): string {
  return contentHash(JSON.stringify([source.claim, source.path]));
}

function locationKey(location: TargetLocation): string {
  return `${location.claim}\0${location.path}`;
}

/** Path prefixes by segment, the root ('') first. */
function prefixes(path: string): string[] {
  if (path === '') return [''];
  const parts = path.split('/');
  return ['', ...parts.map((_, index) => parts.slice(0, index + 1).join('/'))];
}

/** The plan's items from the source's entries, each with its target and every conflict known without the targets. */
export function planItems(entries: readonly SourceEntry[], sources: readonly SourceClaim[], resolved: ResolvedSource, options: PlanOptions): PlanItem[] {
  const byClaim = new Map(sources.map((source) => [source.claim, source]));
  const needsThread = policyNeedsThread(options.target);
  const items: PlanItem[] = [];
  for (const entry of entries) {
    const source = byClaim.get(entry.claim);
    const fromPath = sourcePathIds(resolved, entry.path);
    if (!source || !fromPath) continue;
    const ids: LayoutIds = { ...source.ids, ...fromPath };
    const conflicts = [...source.problems];
    if (ids.user === undefined && ids.thread !== undefined) {
      const user = options.mapping?.get(ids.thread);
      if (user !== undefined) ids.user = user;
      else conflicts.push(options.mapping ? `mapping missing: the mapping file has no user for thread ${JSON.stringify(ids.thread)}` : 'the source layout has no user id: give --mapping');
    }
    if (ids.thread === undefined && needsThread) {
      if (options.thread !== undefined) ids.thread = options.thread;
      else conflicts.push(`policy ${options.target.name} needs a thread id and the source has none: give --thread`);
    }
    if (!needsThread) delete ids.thread;
    const location = { claim: entry.claim, path: entry.path };
    const item: PlanItem = { key: itemKey(location), source: location, files: entry.files, kib: entry.kib, conflicts };
    if (ids.user !== undefined) item.user = ids.user;
    if (ids.thread !== undefined) item.thread = ids.thread;
    if (ids.user !== undefined && conflicts.length === 0) {
      const { target, problems } = targetFor(options.target, options.namespace, options.targetMount, ids as { user: string; thread?: string });
      if (target) item.target = target;
      for (const problem of problems) conflicts.push(`identity not valid under policy ${options.target.name}: ${problem}`);
    }
    items.push(item);
  }
  markOverlaps(items);
  return items.sort((a, b) => (a.source.claim + '\0' + a.source.path < b.source.claim + '\0' + b.source.path ? -1 : 1));
}

/** Two sources into one target, or a source and a target nested in each other, would mix or recopy data. */
function markOverlaps(items: PlanItem[]): void {
  const targets = new Map<string, PlanItem[]>();
  const targetPrefixes = new Set<string>();
  for (const item of items) {
    if (!item.target) continue;
    const key = locationKey(item.target);
    targets.set(key, [...(targets.get(key) ?? []), item]);
    for (const prefix of prefixes(item.target.path)) targetPrefixes.add(locationKey({ claim: item.target.claim, path: prefix }));
  }
  for (const group of targets.values()) {
    if (group.length < 2) continue;
    for (const item of group) item.conflicts.push(`${group.length} sources have the same target ${item.target?.claim}:${item.target?.path}`);
  }
  for (const item of items) {
    const inside = prefixes(item.source.path).some((prefix) => targets.has(locationKey({ claim: item.source.claim, path: prefix })));
    if (inside || targetPrefixes.has(locationKey(item.source))) item.conflicts.push(`source ${item.source.claim}:${item.source.path || '/'} and a target are nested in each other`);
  }
}

/** The target locations whose state the plan needs, claim by claim. */
export function targetsToInspect(items: readonly PlanItem[]): Map<string, string[]> {
  const byClaim = new Map<string, string[]>();
  for (const item of items) if (item.target) byClaim.set(item.target.claim, [...(byClaim.get(item.target.claim) ?? []), item.target.path]);
  return byClaim;
}

export function planId(namespace: string, targetPolicy: string, items: readonly PlanItem[]): string {
  return contentHash(JSON.stringify([namespace, targetPolicy, items.map((item) => [item.key, item.user ?? null, item.thread ?? null, item.target ?? null])]));
}

/** Adds what the targets' states say: data already there is a conflict, this plan's verified copy is done. */
export function applyTargetStates(items: PlanItem[], states: ReadonlyMap<string, TargetState>, id: string): void {
  for (const item of items) {
    if (!item.target) continue;
    const state = states.get(locationKey(item.target));
    if (!state) continue;
    const where = `${item.target.claim}:${item.target.path || '/'}`;
    if (state.state === 'notEmpty') item.conflicts.push(`target ${where} is not empty (${state.entries} entries); nothing is written over data`);
    else if (state.state === 'blocked') item.conflicts.push(`target ${where}: ${state.reason}`);
    else if (state.state === 'claimMissing') item.conflicts.push(`target PVC ${item.target.claim} does not exist yet (a sandbox Pod of the identity makes the controller create it)`);
    else if (state.state === 'migrated' && state.plan !== id) item.conflicts.push(`target ${where} holds data migrated by plan ${state.plan}`);
    else if (state.state === 'migrated') item.done = true;
  }
}

export function targetStateKey(claim: string, path: string): string {
  return locationKey({ claim, path });
}
