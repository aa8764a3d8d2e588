// Policies that must not serve together: their storage would have no single owner. Two shared-mode policies on one
// claim whose subPath templates can give different owners the same directory (or one inside the other), and a shared
// claim whose name has the shape of another policy's workspace claims. Only policies whose namespaceSelectors can
// select a common namespace conflict: a claim name means one PVC per namespace. Pure; the sources decide what to
// serve (src/policy/sources/), the status says why (src/policy/status.ts).
import { looksLikeWorkspaceClaim } from '../naming/identity-names.ts';
import { describeCollision, findTemplateCollisions, reversedCollision, type PlacedTemplate } from '../naming/template-collisions.ts';
import { selectorsCanOverlap } from './overlap.ts';
import type { Policy } from './types.ts';

const subPathField = (mount: number) => `spec.shared.mounts[${mount}].subPath`;

function placedTemplates(policy: Policy): PlacedTemplate[] {
  return policy.spec.shared.mounts.map((mount, index) => ({ policy: policy.name, mount: index, template: mount.subPath }));
}

/** Collisions among the mounts of one shared-mode policy, as field errors on the later mount. */
export function sharedMountCollisions(policy: Policy): Array<{ field: string; message: string }> {
  if (policy.spec.mode !== 'shared') return [];
  return findTemplateCollisions(placedTemplates(policy)).map((found) => {
    const collision = reversedCollision(found); // about the later mount, which is where the error goes
    const other =
      collision.first.mount === collision.second.mount
        ? 'itself'
        : `${subPathField(collision.second.mount)} ${JSON.stringify(collision.second.template)}`;
    return {
      field: subPathField(collision.first.mount),
      message: `Invalid value: ${JSON.stringify(collision.first.template)}: collides with ${other}: ${describeCollision(collision)}`,
    };
  });
}

export interface PolicyConflict {
  /** Field of `policy` the conflict is about. */
  field: string;
  /** Names `other` and what collides; reads after "policy X: FIELD: ". */
  message: string;
}

/** Why `policy` cannot serve beside `other` (empty when it can). */
export function conflictsBetween(policy: Policy, other: Policy): PolicyConflict[] {
  if (policy.name === other.name || !selectorsCanOverlap(policy.spec.namespaceSelector, other.spec.namespaceSelector)) return [];
  const conflicts: PolicyConflict[] = [];
  const { spec } = policy;
  if (spec.mode === 'shared' && other.spec.mode === 'shared' && spec.shared.claimName === other.spec.shared.claimName) {
    const mine = placedTemplates(policy);
    const theirs = placedTemplates(other);
    const collisions = findTemplateCollisions([...mine, ...theirs], (a, b) => a.policy !== b.policy);
    for (const found of collisions) {
      const collision = found.first.policy === policy.name ? found : reversedCollision(found);
      const [own, foreign] = [collision.first, collision.second];
      conflicts.push({
        field: subPathField(own.mount),
        message:
          `Invalid value: ${JSON.stringify(own.template)}: on claim ${JSON.stringify(spec.shared.claimName)} it collides with policy ` +
          `"${other.name}" ${subPathField(foreign.mount)} ${JSON.stringify(foreign.template)}: ${describeCollision(collision)}`,
      });
    }
  }
  if (spec.mode === 'shared' && other.spec.mode === 'workspace' && looksLikeWorkspaceClaim(other.spec.workspace.claimNamePrefix, spec.shared.claimName)) {
    conflicts.push({
      field: 'spec.shared.claimName',
      message:
        `Invalid value: ${JSON.stringify(spec.shared.claimName)}: has the shape of a workspace claim of policy "${other.name}" ` +
        `(claimNamePrefix ${JSON.stringify(other.spec.workspace.claimNamePrefix)}), so the claim's owner would be ambiguous`,
    });
  }
  if (spec.mode === 'workspace' && other.spec.mode === 'shared' && looksLikeWorkspaceClaim(spec.workspace.claimNamePrefix, other.spec.shared.claimName)) {
    conflicts.push({
      field: 'spec.workspace.claimNamePrefix',
      message:
        `Invalid value: ${JSON.stringify(spec.workspace.claimNamePrefix)}: the shared claim ${JSON.stringify(other.spec.shared.claimName)} ` +
        `of policy "${other.name}" has the shape of this policy's workspace claims, so the claim's owner would be ambiguous`,
    });
  }
  return conflicts;
}

export function formatConflicts(policy: Policy, conflicts: readonly PolicyConflict[]): string {
  return conflicts.map((conflict) => `policy "${policy.name}": ${conflict.field}: ${conflict.message}`).join('\n');
}

/** Every conflict in a set that must serve together or not at all (files), in the order given; empty when none. */
export function policySetConflicts(policies: readonly Policy[]): string[] {
  const problems: string[] = [];
  policies.forEach((policy, index) => {
    for (const earlier of policies.slice(0, index)) {
      const conflicts = conflictsBetween(policy, earlier);
      if (conflicts.length > 0) problems.push(formatConflicts(policy, conflicts));
    }
  });
  return problems;
}

export interface AgedPolicy {
  policy: Policy;
  /** RFC 3339 creation time (metadata.creationTimestamp); older policies win. */
  createdAt: string;
}

export interface ConflictResolution {
  serving: Policy[];
  /** Refused policies by name: the older policies they conflict with and why. */
  refused: Map<string, { others: string[]; message: string }>;
}

/**
 * Which policies serve when some conflict: the oldest first (creation time, then name), each one served unless it
 * conflicts with one already serving. Deterministic: it depends only on the objects, never on the order events came
 * in, so every replica serves the same set.
 */
export function resolveConflicts(candidates: readonly AgedPolicy[]): ConflictResolution {
  const ordered = [...candidates].sort(
    (a, b) => compareTimes(a.createdAt, b.createdAt) || (a.policy.name < b.policy.name ? -1 : a.policy.name > b.policy.name ? 1 : 0),
  );
  const serving: Policy[] = [];
  const refused = new Map<string, { others: string[]; message: string }>();
  for (const { policy } of ordered) {
    const against = serving.map((other) => ({ other, conflicts: conflictsBetween(policy, other) })).filter((found) => found.conflicts.length > 0);
    if (against.length === 0) serving.push(policy);
    else {
      refused.set(policy.name, {
        others: against.map((found) => found.other.name),
        message: against.map((found) => formatConflicts(policy, found.conflicts)).join('\n'),
      });
    }
  }
  return { serving, refused };
}

function compareTimes(a: string, b: string): number {
  const difference = Date.parse(a) - Date.parse(b);
  return Number.isNaN(difference) ? (a < b ? -1 : a > b ? 1 : 0) : difference;
}
