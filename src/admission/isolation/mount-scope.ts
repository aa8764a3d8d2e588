// The storage-scope rules: each container mount (and raw device) of a governed volume must be storage of the Pod's
// own identity, and the requester must be entitled to its owner under every policy that owns it. Who owns a
// directory or a PVC is read off the storage (the shared templates, the workspace names, the proof), never off the
// policy the Pod's labels happen to select, so that adding a label cannot pick a laxer policy.
import { workspaceNames } from '../../naming/identity-names.ts';
import { matchSubPath, parseSubPathTemplate, renderSubPath } from '../../naming/subpath-template.ts';
import { selectorMatches } from '../../policy/selector.ts';
import type { Policy } from '../../policy/types.ts';
import { readIdentity, type SandboxIdentity } from '../identity.ts';
import type { RequesterInfo } from '../plan-types.ts';
import { matchRequester } from './exemptions.ts';
import type { GovernedVolume } from './governed-volumes.ts';
import { isObject } from '../../plain-json.ts';
import { requesterBindingDenial } from './requester-binding.ts';
import { isWithin, normaliseSubPath } from './subpath-scope.ts';

export interface ContainerToCheck {
  /** "container", "init container" or "ephemeral container". */
  role: string;
  container: unknown;
}

/** Who asks, for which Pod: the Pod's labels say whose sandbox it is; the requester must be entitled to its storage. */
export interface ScopeContext {
  podLabels: Record<string, string>;
  requester: RequesterInfo;
}

interface Owner {
  policy: Policy;
  identity: SandboxIdentity;
}

/** Exempt from a volume's rules only when every policy owning it exempts the requester: no order, no weakest link. */
export function exemptFrom(volume: GovernedVolume, requester: RequesterInfo): boolean {
  return volume.owners.every((policy) => matchRequester(policy.spec.isolation.exemptions, requester) !== undefined);
}

/** The Pod's identity under `policy`, only when that policy selects the Pod: without its opt-in, no storage of it. */
function podIdentity(policy: Policy, context: ScopeContext): SandboxIdentity | undefined {
  if (!selectorMatches(policy.spec.podSelector, context.podLabels)) return undefined;
  return readIdentity(context.podLabels, policy).identity;
}

function sameIdentity(a: SandboxIdentity, b: { user?: string; thread?: string }, usesThread: boolean): boolean {
  return a.user === b.user && (!usesThread || a.thread === b.thread);
}

/** Why the requester may not reach storage of each owner, under that owner's policy. */
function bindingProblems(owners: readonly Owner[], requester: RequesterInfo): string[] {
  const problems = new Set<string>();
  for (const owner of owners) {
    const denial = requesterBindingDenial(owner.policy, owner.identity.user, requester);
    if (denial) problems.add(denial.replace('[rule RequesterBinding', '[rule StorageOwnerBinding'));
  }
  return [...problems];
}

function describeIds(identity: { user?: string; thread?: string }): string {
  return identity.thread === undefined ? `user ${JSON.stringify(identity.user)}` : `user ${JSON.stringify(identity.user)}, thread ${JSON.stringify(identity.thread)}`;
}

function podOwnerText(volume: GovernedVolume, context: ScopeContext): string {
  const identities = volume.owners.map((policy) => podIdentity(policy, context)).filter((identity) => identity !== undefined);
  return identities[0] ? `user ${JSON.stringify(identities[0].user)}` : 'a pod without a sandbox identity';
}

const policyNames = (policies: readonly Policy[]) => policies.map((policy) => `"${policy.name}"`).join(', ');

/** The directories of a shared claim this Pod's identity may mount, under each policy that owns the claim. */
function ownSharedDirectories(volume: GovernedVolume, context: ScopeContext) {
  return volume.owners.flatMap((policy) => {
    const identity = podIdentity(policy, context);
    if (!identity || policy.spec.mode !== 'shared') return [];
    return policy.spec.shared.mounts.map((mount) => ({ path: renderSubPath(parseSubPathTemplate(mount.subPath), identity), readOnly: mount.readOnly }));
  });
}

function sharedMountProblem(mount: Record<string, unknown>, volume: GovernedVolume, context: ScopeContext): string | undefined {
  const claim = `PVC ${JSON.stringify(volume.claimName)}`;
  const policies = `policy ${policyNames(volume.owners)}`;
  if (Object.hasOwn(mount, 'subPathExpr') && mount.subPathExpr !== undefined && mount.subPathExpr !== '') {
    return `subPathExpr ${JSON.stringify(mount.subPathExpr)} on shared ${claim} is not allowed: it is expanded after admission [rule SharedSubPathExpr, ${policies}]`;
  }
  const subPath = typeof mount.subPath === 'string' ? mount.subPath : '';
  const normalised = normaliseSubPath(subPath);
  if (normalised.path === undefined) return `subPath ${JSON.stringify(subPath)} on shared ${claim} ${normalised.problem} [rule SharedSubPathScope, ${policies}]`;
  const path = normalised.path;
  if (path === '') {
    return `shared ${claim} is mounted at its root${subPath === '' ? '' : ` (subPath ${JSON.stringify(subPath)})`} [rule SharedVolumeRoot, ${policies}]`;
  }
  // Every (policy, template, ids) that renders exactly this directory: its owners, found from the path itself.
  const renderings = volume.owners.flatMap((policy) =>
    policy.spec.mode !== 'shared'
      ? []
      : policy.spec.shared.mounts.flatMap((template) => {
          const parsed = parseSubPathTemplate(template.subPath);
          const ids = matchSubPath(parsed, path);
          return ids?.user === undefined ? [] : [{ policy, ids, parsed, readOnly: template.readOnly }];
        }),
  );
  // Exactly a rendered directory of the Pod's own identity, not a subdirectory: a tenant can plant symlinks inside
  // its own directory, and kubelet only keeps a symlinked subPath inside the volume, not inside the directory.
  const own = renderings.filter((rendering) => {
    const identity = podIdentity(rendering.policy, context);
    return identity !== undefined && sameIdentity(identity, rendering.ids, rendering.parsed.variables.has('thread'));
  });
  if (own.length === 0) {
    const scope = ownSharedDirectories(volume, context);
    const allowed = scope.map((entry) => `${entry.path}${entry.readOnly ? ' (read-only)' : ''}`).join(', ') || 'none';
    const why = scope.some((entry) => isWithin(path, entry.path)) ? 'is below the directory of' : 'is outside the directories of';
    return `subPath ${JSON.stringify(subPath)} on shared ${claim} ${why} ${podOwnerText(volume, context)} (allowed: ${allowed}) [rule SharedSubPathScope, ${policies}]`;
  }
  const owners = renderings.map((rendering) => ({ policy: rendering.policy, identity: { user: rendering.ids.user as string, ...(rendering.ids.thread !== undefined ? { thread: rendering.ids.thread } : {}) } }));
  const binding = bindingProblems(owners, context.requester);
  if (binding.length > 0) return `subPath ${JSON.stringify(subPath)} on shared ${claim}: ${binding.join('; ')}`;
  if (renderings.some((rendering) => rendering.readOnly) && mount.readOnly !== true && !volume.readOnly) {
    return `subPath ${JSON.stringify(subPath)} on shared ${claim} must be mounted readOnly [rule SharedReadOnly, ${policies}]`;
  }
  return undefined;
}

/** The identities a Pod's labels can name under any owner's label keys: every user value with every thread value. */
function claimableIdentities(owners: readonly Policy[], labels: Record<string, string>): SandboxIdentity[] {
  const users = new Set<string>();
  const threads = new Set<string | undefined>([undefined]);
  for (const policy of owners) {
    const user = labels[policy.spec.identity.userLabel];
    const thread = labels[policy.spec.identity.threadLabel];
    if (user !== undefined && Object.hasOwn(labels, policy.spec.identity.userLabel)) users.add(user);
    if (thread !== undefined && Object.hasOwn(labels, policy.spec.identity.threadLabel)) threads.add(thread);
  }
  return [...users].flatMap((user) => [...threads].map((thread) => (thread === undefined ? { user } : { user, thread })));
}

function workspaceProblem(volume: GovernedVolume, context: ScopeContext): string | undefined {
  const claim = `PVC ${JSON.stringify(volume.claimName)}`;
  const policies = `policy ${policyNames(volume.owners)}`;
  if (volume.kind === 'unproven') {
    return `${claim} exists in the workspace names of ${policies} but carries no valid ownership proof (not created by sandbox-storage): it is never mounted [rule UnprovenClaim]`;
  }
  const namesFor = (policy: Policy, identity: SandboxIdentity) =>
    policy.spec.mode === 'workspace' ? workspaceNames(policy.spec.workspace.claimNamePrefix, { scope: policy.spec.workspace.scope, ...identity }) : undefined;
  const nameFor = (policy: Policy, identity: SandboxIdentity) => namesFor(policy, identity)?.claimName;
  const proven = volume.proven;
  const own = volume.owners.some((policy) => {
    const identity = podIdentity(policy, context);
    const names = identity && namesFor(policy, identity);
    if (!names || names.claimName !== volume.claimName) return false;
    return !proven || (proven.policy === policy && proven.identityHash === names.identityHash);
  });
  if (!own) return `${claim} is not the workspace of ${podOwnerText(volume, context)} [rule ForeignWorkspaceClaim, ${policies}]`;
  // Every owner policy that gives this name to an identity the labels can name: each one's binding applies.
  const owners = volume.owners.flatMap((policy) =>
    claimableIdentities(volume.owners, context.podLabels)
      .filter((identity) => nameFor(policy, identity) === volume.claimName)
      .map((identity) => ({ policy, identity })),
  );
  const binding = bindingProblems(owners, context.requester);
  return binding.length > 0 ? `${claim}: ${binding.join('; ')}` : undefined;
}

/** Why one mount of a governed volume is out of scope, as "<what> [rule X]", or undefined when it is in scope. */
function mountProblem(mount: Record<string, unknown>, volume: GovernedVolume, context: ScopeContext): string | undefined {
  if (volume.kind === 'clone') return `clones PVC ${JSON.stringify(volume.claimName)}, which policy ${policyNames(volume.owners)} governs [rule GovernedClaimClone]`;
  if (volume.kind === 'shared') return sharedMountProblem(mount, volume, context);
  return workspaceProblem(volume, context);
}

/** Denials for every mount or device of a governed volume that leaves the Pod's identity or the requester's reach. */
export function mountScopeDenials(
  containers: readonly ContainerToCheck[],
  governed: ReadonlyMap<string, GovernedVolume>,
  context: ScopeContext,
): string[] {
  const denials: string[] = [];
  for (const { role, container } of containers) {
    if (!isObject(container)) continue;
    const name = JSON.stringify(typeof container.name === 'string' ? container.name : '');
    const mounts = Array.isArray(container.volumeMounts) ? container.volumeMounts : [];
    for (const mount of mounts) {
      if (!isObject(mount) || typeof mount.name !== 'string') continue;
      const volume = governed.get(mount.name);
      // Clones are refused as volumes, whoever mounts them.
      if (!volume || volume.kind === 'clone' || exemptFrom(volume, context.requester)) continue;
      const problem = mountProblem(mount, volume, context);
      if (problem) {
        const where = typeof mount.mountPath === 'string' ? ` at ${mount.mountPath}` : '';
        denials.push(`${role} ${name} mounts volume ${JSON.stringify(mount.name)}${where}: ${problem}`);
      }
    }
    const devices = Array.isArray(container.volumeDevices) ? container.volumeDevices : [];
    for (const device of devices) {
      if (!isObject(device) || typeof device.name !== 'string') continue;
      const volume = governed.get(device.name);
      if (!volume || exemptFrom(volume, context.requester)) continue;
      // A raw block device is the whole filesystem, whatever directory the identity owns.
      const problem =
        volume.kind === 'shared' || volume.kind === 'clone'
          ? `a raw block device of PVC ${JSON.stringify(volume.claimName)} exposes every tenant's data [rule GovernedRawDevice, policy ${policyNames(volume.owners)}]`
          : mountProblem({}, volume, context);
      if (problem) denials.push(`${role} ${name} uses volume ${JSON.stringify(device.name)} as a device: ${problem}`);
    }
  }
  return denials;
}
