// Which volumes of a Pod reach storage a policy governs: the shared claim, workspace claims (recognised by name),
// claims whose ownership labels name an identity, and inline ephemeral volumes cloned from any of those.
import type { Policy } from '../../policy/types.ts';
import { ownershipLabels } from '../storage-layout.ts';
import { isObject } from './plain-json.ts';

export type GovernedKind = 'shared' | 'workspace' | 'owned-claim' | 'clone';

export interface GovernedVolume {
  volumeName: string;
  claimName: string;
  kind: GovernedKind;
  /** The policy whose storage this is (its exemptions apply). */
  policy: Policy;
  /** Labels of the claim as found in the cluster, when known. */
  claimLabels?: Record<string, string>;
}

/** Labels and annotations of one PVC as found in the cluster. */
export interface ObservedClaimMetadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** PVCs of the request's namespace, by claim name; only claims that exist and were looked up. */
export type ClaimMetadata = Readonly<Record<string, ObservedClaimMetadata>>;

const workspaceNameRest = /^[-a-z0-9]*-[a-z2-7]{20}$/;

/** True when `claimName` has the shape workspaceClaimName gives under `prefix`: prefix, hint, 20-char hash. */
export function looksLikeWorkspaceClaim(prefix: string, claimName: string): boolean {
  return claimName.startsWith(prefix) && workspaceNameRest.test(claimName.slice(prefix.length));
}

function classifyClaim(
  claimName: string,
  policies: readonly Policy[],
  claimMetadata: ClaimMetadata,
): Omit<GovernedVolume, 'volumeName'> | undefined {
  const labels = Object.hasOwn(claimMetadata, claimName) ? claimMetadata[claimName]?.labels : undefined;
  for (const policy of policies) {
    if (policy.spec.mode === 'shared' && policy.spec.shared.claimName === claimName) return { claimName, kind: 'shared', policy };
  }
  for (const policy of policies) {
    if (policy.spec.mode === 'workspace' && looksLikeWorkspaceClaim(policy.spec.workspace.claimNamePrefix, claimName)) {
      return { claimName, kind: 'workspace', policy, ...(labels ? { claimLabels: labels } : {}) };
    }
  }
  if (!labels) return undefined;
  const byLabel = policies.find((policy) => labels[ownershipLabels.policy] === policy.name);
  const owner = byLabel ?? policies.find((policy) => Object.hasOwn(labels, policy.spec.identity.userLabel));
  return owner ? { claimName, kind: 'owned-claim', policy: owner, claimLabels: labels } : undefined;
}

/** Names of the claims a generic ephemeral volume would be cloned from. */
function clonedClaimNames(volume: Record<string, unknown>): string[] {
  const template = isObject(volume.ephemeral) ? volume.ephemeral.volumeClaimTemplate : undefined;
  const spec = isObject(template) && isObject(template.spec) ? template.spec : undefined;
  if (!spec) return [];
  return [spec.dataSource, spec.dataSourceRef]
    .filter(isObject)
    .filter((source) => (source.kind ?? 'PersistentVolumeClaim') === 'PersistentVolumeClaim' && (source.apiGroup ?? '') === '')
    .map((source) => source.name)
    .filter((name): name is string => typeof name === 'string');
}

export function governedVolumes(
  volumes: unknown,
  policies: readonly Policy[],
  claimMetadata: ClaimMetadata,
): Map<string, GovernedVolume> {
  const governed = new Map<string, GovernedVolume>();
  if (!Array.isArray(volumes)) return governed;
  for (const volume of volumes) {
    if (!isObject(volume) || typeof volume.name !== 'string') continue;
    const claim = isObject(volume.persistentVolumeClaim) ? volume.persistentVolumeClaim.claimName : undefined;
    if (typeof claim === 'string') {
      const found = classifyClaim(claim, policies, claimMetadata);
      if (found) governed.set(volume.name, { volumeName: volume.name, ...found });
      continue;
    }
    for (const source of clonedClaimNames(volume)) {
      const found = classifyClaim(source, policies, claimMetadata);
      if (found) {
        governed.set(volume.name, { volumeName: volume.name, ...found, kind: 'clone' });
        break;
      }
    }
  }
  return governed;
}

/** Claim names of a Pod's PVC volumes (and clone sources), for looking up their ownership labels. */
export function referencedClaimNames(volumes: unknown): string[] {
  if (!Array.isArray(volumes)) return [];
  const names = new Set<string>();
  for (const volume of volumes) {
    if (!isObject(volume)) continue;
    const claim = isObject(volume.persistentVolumeClaim) ? volume.persistentVolumeClaim.claimName : undefined;
    if (typeof claim === 'string' && claim !== '') names.add(claim);
    for (const source of clonedClaimNames(volume)) names.add(source);
  }
  return [...names];
}
