// The governed PVC name space: names under which a PVC would be taken for a sandbox's storage (workspace PVCs by
// prefix and shape, the shared claim by name), and the data sources that would copy governed storage. Shared by the
// PVC admission (validate-claim.ts) and the Pod admission of generic ephemeral volumes (ephemeral-claims.ts). Pure.
import type { Policy } from '../../policy/types.ts';
import { matchRequester } from './exemptions.ts';
import { isObject } from '../../plain-json.ts';
import type { RequesterInfo } from '../plan-types.ts';
import { looksLikeWorkspaceClaim } from '../../naming/identity-names.ts';

export interface GovernedName {
  policy: Policy;
  kind: 'workspace' | 'shared';
  /** Why the name is governed, for messages. */
  because: string;
}

/** The policy (if any) that reserves `name`: its shared claimName, or its workspace prefix + hint + hash shape. */
export function governedClaimName(name: string, policies: readonly Policy[]): GovernedName | undefined {
  for (const policy of policies) {
    if (policy.spec.mode === 'shared' && policy.spec.shared.claimName === name) {
      return { policy, kind: 'shared', because: `it is the shared claim of policy "${policy.name}" (spec.shared.claimName)` };
    }
  }
  for (const policy of policies) {
    const prefix = policy.spec.workspace.claimNamePrefix;
    if (policy.spec.mode === 'workspace' && looksLikeWorkspaceClaim(prefix, name)) {
      return {
        policy,
        kind: 'workspace',
        because: `it has the shape of a workspace PVC of policy "${policy.name}" (spec.workspace.claimNamePrefix ${JSON.stringify(prefix)} + hint + 20-character hash)`,
      };
    }
  }
  return undefined;
}

/**
 * A policy whose governed names could start with `generateName` (or `generateName` could start a governed name):
 * the API server appends 5 random characters, so such a name cannot be ruled out.
 */
export function generatedNameMayBeGoverned(generateName: string, policies: readonly Policy[]): GovernedName | undefined {
  for (const policy of policies) {
    const reserved = policy.spec.mode === 'shared' ? policy.spec.shared.claimName : policy.spec.workspace.claimNamePrefix;
    const compatible = policy.spec.mode === 'shared' ? reserved.startsWith(generateName) : reserved.startsWith(generateName) || generateName.startsWith(reserved);
    if (compatible) {
      const what = policy.spec.mode === 'shared' ? `shared claim ${JSON.stringify(reserved)}` : `workspace PVC prefix ${JSON.stringify(reserved)}`;
      return { policy, kind: policy.spec.mode, because: `a name generated from ${JSON.stringify(generateName)} may fall among the names policy "${policy.name}" reserves (${what})` };
    }
  }
  return undefined;
}

export interface DataSourceProblem {
  field: 'dataSource' | 'dataSourceRef';
  /** Set when the source is a governed PVC; undefined for a VolumeSnapshot. */
  governed?: GovernedName;
  /** The policies whose exemptions may allow the copy: every owner of the cloned claim; for a snapshot, all. */
  concerned: Policy[];
  description: string;
}

/** Every policy that reserves `name`: all that name it as their shared claim, or whose workspace names it fits. */
export function claimNameOwners(name: string, policies: readonly Policy[]): Policy[] {
  return policies.filter((policy) =>
    policy.spec.mode === 'shared' ? policy.spec.shared.claimName === name : looksLikeWorkspaceClaim(policy.spec.workspace.claimNamePrefix, name),
  );
}

/**
 * A PVC spec's dataSource / dataSourceRef that would copy governed storage: a clone of a governed PVC, or a
 * VolumeSnapshot restore (which claim a snapshot was taken of cannot be told).
 */
export function dataSourceProblems(spec: unknown, policies: readonly Policy[]): DataSourceProblem[] {
  if (!isObject(spec)) return [];
  const problems: DataSourceProblem[] = [];
  for (const field of ['dataSource', 'dataSourceRef'] as const) {
    const source = spec[field];
    if (!isObject(source)) continue;
    const kind = typeof source.kind === 'string' ? source.kind : '';
    const apiGroup = typeof source.apiGroup === 'string' ? source.apiGroup : '';
    const name = typeof source.name === 'string' ? source.name : '';
    if (kind === 'PersistentVolumeClaim' && apiGroup === '') {
      const governed = governedClaimName(name, policies);
      if (governed) problems.push({ field, governed, concerned: claimNameOwners(name, policies), description: `${field} clones PVC ${JSON.stringify(name)}, and ${governed.because}` });
    } else if (kind === 'VolumeSnapshot') {
      problems.push({ field, concerned: [...policies], description: `${field} restores VolumeSnapshot ${JSON.stringify(name)}, which may have been taken of governed storage (which claim a snapshot came from cannot be told)` });
    }
  }
  return problems;
}

/** The policy entry `requester` is exempt through in any of `policies`, or undefined. */
/**
 * The exemption entry the requester matches in every one of `policies`, or undefined: an exemption counts only when
 * every policy concerned grants it, so the answer never depends on which policy is looked at first.
 */
export function exemptIn(policies: readonly Policy[], requester: RequesterInfo): string | undefined {
  let entry: string | undefined;
  for (const policy of policies) {
    entry = matchRequester(policy.spec.isolation.exemptions, requester);
    if (entry === undefined) return undefined;
  }
  return entry;
}

export function isController(requester: RequesterInfo, controllerUsername: string | undefined): boolean {
  return controllerUsername !== undefined && typeof requester.username === 'string' && requester.username === controllerUsername;
}

export function stringRecord(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (!isObject(value)) return result;
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') result[key] = entry;
  return result;
}

export function controllerName(controllerUsername: string | undefined): string {
  return controllerUsername === undefined ? 'the sandbox-storage controller' : `the sandbox-storage controller (${controllerUsername})`;
}
