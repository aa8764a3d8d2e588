// The storage-scope rules: each container mount (and raw device) of a governed volume must stay inside the
// requester's own identity: its rendered subPaths of the shared claim, its own workspace claim, its own PVCs.
import { workspaceClaimName } from '../../naming/identity-names.ts';
import { parseSubPathTemplate, renderSubPath } from '../../naming/subpath-template.ts';
import type { Policy } from '../../policy/types.ts';
import type { SandboxIdentity } from '../identity.ts';
import type { GovernedVolume } from './governed-volumes.ts';
import { isWithin, normaliseSubPath } from './subpath-scope.ts';
import { isObject } from './plain-json.ts';

export interface ContainerToCheck {
  /** "container", "init container" or "ephemeral container". */
  role: string;
  container: unknown;
}

/** The identity a Pod carries, under the policy that selected it; absent for Pods no policy selects. */
export interface PodIdentity {
  policy: Policy;
  identity: SandboxIdentity;
}

export interface ScopeEntry {
  path: string;
  readOnly: boolean;
}

/** The directories of `claimName` this identity may mount: its rendered shared subPaths. */
export function sharedScope(owner: PodIdentity | undefined, claimName: string): ScopeEntry[] {
  if (!owner || owner.policy.spec.mode !== 'shared' || owner.policy.spec.shared.claimName !== claimName) return [];
  return owner.policy.spec.shared.mounts.map((mount) => ({
    path: renderSubPath(parseSubPathTemplate(mount.subPath), owner.identity),
    readOnly: mount.readOnly,
  }));
}

function ownsByLabels(volume: GovernedVolume, owner: PodIdentity | undefined): boolean {
  const labels = volume.claimLabels;
  if (!labels) return true; // nothing in the cluster contradicts the name
  if (!owner) return false;
  const { userLabel, threadLabel } = volume.policy.spec.identity;
  if (Object.hasOwn(labels, userLabel) && labels[userLabel] !== owner.identity.user) return false;
  if (Object.hasOwn(labels, threadLabel) && labels[threadLabel] !== owner.identity.thread) return false;
  return true;
}

function ownWorkspaceClaim(volume: GovernedVolume, owner: PodIdentity | undefined): boolean {
  if (!owner) return false;
  const workspace = volume.policy.spec.workspace;
  const own = workspaceClaimName(workspace.claimNamePrefix, { scope: workspace.scope, ...owner.identity });
  return own === volume.claimName && ownsByLabels(volume, owner);
}

function whose(owner: PodIdentity | undefined): string {
  return owner ? `user ${JSON.stringify(owner.identity.user)}` : 'a pod without a sandbox identity';
}

/** Why one mount of a governed volume is out of scope, as "<what> [rule X]", or undefined when it is in scope. */
function mountProblem(mount: Record<string, unknown>, volume: GovernedVolume, owner: PodIdentity | undefined): string | undefined {
  const claim = `PVC ${JSON.stringify(volume.claimName)}`;
  const policy = `policy "${volume.policy.name}"`;
  if (volume.kind === 'clone') return `clones ${claim}, which ${policy} governs [rule GovernedClaimClone]`;
  if (volume.kind === 'workspace') {
    if (ownWorkspaceClaim(volume, owner)) return undefined;
    return `${claim} is not the workspace of ${whose(owner)} [rule ForeignWorkspaceClaim, ${policy}]`;
  }
  if (volume.kind === 'owned-claim') {
    if (owner && ownsByLabels(volume, owner)) return undefined;
    const labels = volume.claimLabels ?? {};
    const named = labels[volume.policy.spec.identity.userLabel];
    return `${claim} belongs to user ${JSON.stringify(named ?? '')} by its labels, not to ${whose(owner)} [rule ForeignClaimOwner, ${policy}]`;
  }
  // The shared claim: only the identity's own rendered directories, exactly.
  if (Object.hasOwn(mount, 'subPathExpr') && mount.subPathExpr !== undefined && mount.subPathExpr !== '') {
    return `subPathExpr ${JSON.stringify(mount.subPathExpr)} on shared ${claim} is not allowed: it is expanded after admission [rule SharedSubPathExpr, ${policy}]`;
  }
  const subPath = typeof mount.subPath === 'string' ? mount.subPath : '';
  const normalised = normaliseSubPath(subPath);
  if (normalised.path === undefined) {
    return `subPath ${JSON.stringify(subPath)} on shared ${claim} ${normalised.problem} [rule SharedSubPathScope, ${policy}]`;
  }
  if (normalised.path === '') {
    return `shared ${claim} is mounted at its root${subPath === '' ? '' : ` (subPath ${JSON.stringify(subPath)})`} [rule SharedVolumeRoot, ${policy}]`;
  }
  const scope = sharedScope(owner, volume.claimName);
  const allowed = scope.map((entry) => `${entry.path}${entry.readOnly ? ' (read-only)' : ''}`).join(', ') || 'none';
  // Exactly the rendered directory, not a subdirectory: a tenant can plant symlinks inside its own directory,
  // and kubelet only keeps a symlinked subPath inside the volume, not inside the tenant's directory.
  const entry = scope.find((candidate) => candidate.path === normalised.path);
  if (!entry) {
    const inside = scope.some((candidate) => isWithin(normalised.path as string, candidate.path));
    const why = inside ? 'is below the directory of' : 'is outside the directories of';
    return `subPath ${JSON.stringify(subPath)} on shared ${claim} ${why} ${whose(owner)} (allowed: ${allowed}) [rule SharedSubPathScope, ${policy}]`;
  }
  if (entry.readOnly && mount.readOnly !== true) {
    return `subPath ${JSON.stringify(subPath)} on shared ${claim} must be mounted readOnly [rule SharedReadOnly, ${policy}]`;
  }
  return undefined;
}

/**
 * Denials for every mount or device of a governed volume that leaves the identity's scope. `isExempt(volume)` tells
 * whether the requester is exempt from the policy that governs that volume.
 */
export function mountScopeDenials(
  containers: readonly ContainerToCheck[],
  governed: ReadonlyMap<string, GovernedVolume>,
  owner: PodIdentity | undefined,
  isExempt: (volume: GovernedVolume) => boolean,
): string[] {
  const denials: string[] = [];
  for (const { role, container } of containers) {
    if (!isObject(container)) continue;
    const name = JSON.stringify(typeof container.name === 'string' ? container.name : '');
    const mounts = Array.isArray(container.volumeMounts) ? container.volumeMounts : [];
    for (const mount of mounts) {
      if (!isObject(mount) || typeof mount.name !== 'string') continue;
      const volume = governed.get(mount.name);
      if (!volume || volume.kind === 'clone' || isExempt(volume)) continue; // clones are refused as volumes
      const problem = mountProblem(mount, volume, owner);
      if (problem) {
        const where = typeof mount.mountPath === 'string' ? ` at ${mount.mountPath}` : '';
        denials.push(`${role} ${name} mounts volume ${JSON.stringify(mount.name)}${where}: ${problem}`);
      }
    }
    const devices = Array.isArray(container.volumeDevices) ? container.volumeDevices : [];
    for (const device of devices) {
      if (!isObject(device) || typeof device.name !== 'string') continue;
      const volume = governed.get(device.name);
      if (!volume || isExempt(volume)) continue;
      // A raw block device is the whole filesystem, whatever directory the identity owns.
      const problem =
        volume.kind === 'shared' || volume.kind === 'clone'
          ? `a raw block device of PVC ${JSON.stringify(volume.claimName)} exposes every tenant's data [rule GovernedRawDevice, policy "${volume.policy.name}"]`
          : mountProblem({}, volume, owner);
      if (problem) denials.push(`${role} ${name} uses volume ${JSON.stringify(device.name)} as a device: ${problem}`);
    }
  }
  return denials;
}
