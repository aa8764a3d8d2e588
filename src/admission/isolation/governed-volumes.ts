// Which volumes of a Pod reach storage a policy governs, and which policies own that storage. The storage decides:
// the shared claim belongs to every policy that names it, a workspace-shaped claim to every policy whose names it
// fits, and an existing workspace PVC counts only with an ownership proof. Labels on a PVC prove nothing.
import type { Policy } from '../../policy/types.ts';
import { proofMatches } from '../ownership-proof.ts';
import { claimNameOwners } from './governed-claims.ts';
import { isObject } from '../../plain-json.ts';
import { ownershipLabels, ownershipProofAnnotation } from '../../labels.ts';

/**
 * shared: a policy's shared claim. workspace: a workspace claim name (not yet created, or created with a valid
 * proof). unproven: an existing PVC in the workspace name space without a valid proof (planted, never mounted).
 * clone: an ephemeral volume cloned from governed storage.
 */
export type GovernedKind = 'shared' | 'workspace' | 'unproven' | 'clone';

export interface GovernedVolume {
  volumeName: string;
  claimName: string;
  kind: GovernedKind;
  /** Every policy whose storage this is; never empty. Each one's rules apply, whatever policy selects the Pod. */
  owners: Policy[];
  /** `persistentVolumeClaim.readOnly` on the volume: every mount of it is read-only. */
  readOnly: boolean;
  /** For an existing workspace PVC with a valid proof: the policy and identity hash the proof vouches for. */
  proven?: { policy: Policy; identityHash: string };
}

/** Labels and annotations of one PVC as found in the cluster. */
export interface ObservedClaimMetadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** PVCs of the request's namespace, by claim name; only claims that exist and were looked up. */
export type ClaimMetadata = Readonly<Record<string, ObservedClaimMetadata>>;

/** What classifying storage needs besides the policies: the observed PVCs and the key that checks their proofs. */
export interface StorageFacts {
  namespace: string;
  claimMetadata: ClaimMetadata;
  /** Without it nothing can be proven: every existing workspace-shaped PVC is then unproven. */
  ownershipKey?: Uint8Array;
}

function provenOwner(claimName: string, candidates: readonly Policy[], observed: ObservedClaimMetadata, facts: StorageFacts) {
  const key = facts.ownershipKey;
  const proof = observed.annotations[ownershipProofAnnotation];
  const identityHash = observed.labels[ownershipLabels.identityHash] ?? '';
  if (!key || proof === undefined || identityHash === '') return undefined;
  const policy = candidates.find((candidate) =>
    proofMatches(key, { namespace: facts.namespace, name: claimName, policy: candidate.name, role: 'workspace', identityHash }, proof),
  );
  return policy ? { policy, identityHash } : undefined;
}

type Classified = Omit<GovernedVolume, 'volumeName' | 'readOnly'>;

export function classifyClaim(claimName: string, policies: readonly Policy[], facts: StorageFacts): Classified | undefined {
  const owners = claimNameOwners(claimName, policies);
  const sharedOwners = owners.filter((policy) => policy.spec.mode === 'shared');
  if (sharedOwners.length > 0) return { claimName, kind: 'shared', owners: sharedOwners };
  const workspaceOwners = owners.filter((policy) => policy.spec.mode === 'workspace');
  if (workspaceOwners.length === 0) return undefined;
  const observed = Object.hasOwn(facts.claimMetadata, claimName) ? facts.claimMetadata[claimName] : undefined;
  if (!observed) return { claimName, kind: 'workspace', owners: workspaceOwners };
  const proven = provenOwner(claimName, workspaceOwners, observed, facts);
  return proven ? { claimName, kind: 'workspace', owners: workspaceOwners, proven } : { claimName, kind: 'unproven', owners: workspaceOwners };
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

export function governedVolumes(volumes: unknown, policies: readonly Policy[], facts: StorageFacts): Map<string, GovernedVolume> {
  const governed = new Map<string, GovernedVolume>();
  if (!Array.isArray(volumes)) return governed;
  for (const volume of volumes) {
    if (!isObject(volume) || typeof volume.name !== 'string') continue;
    const source = isObject(volume.persistentVolumeClaim) ? volume.persistentVolumeClaim : undefined;
    if (source && typeof source.claimName === 'string') {
      const found = classifyClaim(source.claimName, policies, facts);
      if (found) governed.set(volume.name, { volumeName: volume.name, ...found, readOnly: source.readOnly === true });
      continue;
    }
    for (const cloned of clonedClaimNames(volume)) {
      const found = classifyClaim(cloned, policies, facts);
      if (found) {
        governed.set(volume.name, { volumeName: volume.name, ...found, kind: 'clone', readOnly: false });
        break;
      }
    }
  }
  return governed;
}

/** Claim names of a Pod's PVC volumes (and clone sources), for looking up their metadata. */
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
