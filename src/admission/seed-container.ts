// The init container that seeds the volume from the sandbox image and merges later image versions into it.
import type { V1Container, V1PodSecurityContext, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { Policy } from '../policy/types.ts';
import { seedStagingPath } from '../policy/validate.ts';
import { seedEnvironment } from './seed-script.ts';
import { scriptDelivery, type SeedParameter } from './seed-script-delivery.ts';

export { escapeForKubelet } from './seed-script-delivery.ts';

export const seedContainerName = 'sandbox-storage-seed';
/** The image volume (KEP-4639) holding the sandbox image read-only, for `spec.seed.source: imageVolume`. */
export const seedImageVolumeName = 'sandbox-storage-seed-image';
export const seedImageMountPath = '/sandbox-storage/seed-image';
/** Pod annotation: "false" declares that the sandbox image has no /bin/sh, so the shell seeder cannot run in it. */
export const imageHasShellAnnotation = 'sandbox-storage.io/image-has-shell';
export const podSecurityEnforceLabel = 'pod-security.kubernetes.io/enforce';
/**
 * The directory of a workspace volume that the sandbox mounts at the seed path: the seeder makes it (as the sandbox
 * user, or chowned to it) and checks it is a real directory right before the sandbox starts, so that /sandbox is the
 * user's own in every Pod Security level; the record stays outside it, at the volume root.
 */
export const seedHomeDirectory = '.sandbox-storage-home';

/** Capabilities the root seeder keeps: all in the Pod Security baseline's allowed set. */
export const rootSeederCapabilities = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID'];

export interface SeedInjection {
  container?: V1Container;
  /** The image volume to add next to the container (imageVolume source only). */
  volume?: V1Volume;
  /** What the sandbox container mounts at the seed path instead of the volume root (the home directory), if anything. */
  sandboxMount?: V1VolumeMount;
  /** The volume the script comes from (configMap and imageVolume delivery). */
  scriptVolume?: V1Volume;
  /** The seed-script ConfigMap the Pod needs in its namespace (configMap delivery). */
  scriptConfigMap?: string;
  warnings: string[];
}

export interface SeedContext {
  sandbox: V1Container;
  podSecurityContext: V1PodSecurityContext | undefined;
  podAnnotations: Record<string, string> | undefined;
  /** Labels of the Pod's namespace, when the webhook can read them. */
  namespaceLabels: Record<string, string> | undefined;
  seededMount: V1VolumeMount;
}

/**
 * Root only when it is useful (there is a sandbox uid/gid to chown to) and allowed: a namespace enforcing the
 * `restricted` Pod Security level would reject the Pod. When the namespace labels are unknown, a Pod that
 * declares runAsNonRoot is taken as written for a restricted namespace.
 */
export function seederRunsAsRoot(policy: Policy, context: SeedContext, owner: { uid?: number; gid?: number }): boolean {
  const runAs = policy.spec.seed.runAs;
  if (runAs !== 'auto') return runAs === 'root';
  if (owner.uid === undefined && owner.gid === undefined) return false;
  const enforced = context.namespaceLabels?.[podSecurityEnforceLabel];
  if (context.namespaceLabels !== undefined) return enforced !== 'restricted';
  const declaresNonRoot = context.sandbox.securityContext?.runAsNonRoot ?? context.podSecurityContext?.runAsNonRoot;
  return declaresNonRoot !== true;
}

/** The non-root seeder is known to run as a user other than root: asked for, required by the namespace, or declared. */
function runsAsNonRootUser(policy: Policy, context: SeedContext, uid: number | undefined): boolean {
  if (policy.spec.seed.runAs === 'sandboxUser') return true;
  if (context.namespaceLabels?.[podSecurityEnforceLabel] === 'restricted') return true;
  if ((context.sandbox.securityContext?.runAsNonRoot ?? context.podSecurityContext?.runAsNonRoot) === true) return true;
  return uid !== undefined && uid !== 0;
}

function rootSecurityContext(): V1SecurityContext {
  return {
    runAsUser: 0,
    runAsGroup: 0,
    runAsNonRoot: false,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'], add: [...rootSeederCapabilities] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function buildSeedInjection(policy: Policy, context: SeedContext): SeedInjection {
  const { sandbox, podSecurityContext, seededMount } = context;
  const seed = policy.spec.seed;
  const warnings: string[] = [];
  const imageVolume = seed.source === 'imageVolume';
  if (!imageVolume && context.podAnnotations?.[imageHasShellAnnotation] === 'false') {
    warnings.push(
      `sandbox-storage: ${seed.path} is not seeded: the pod declares its image has no shell (${imageHasShellAnnotation}: "false") and policy "${policy.name}" seeds with the image's shell; set spec.seed.source: imageVolume to seed shell-less images`,
    );
    return { warnings };
  }

  const uid = sandbox.securityContext?.runAsUser ?? podSecurityContext?.runAsUser;
  const gid = sandbox.securityContext?.runAsGroup ?? podSecurityContext?.runAsGroup ?? podSecurityContext?.fsGroup;
  // The script's parameters: set by the first line of its command (seedParameterLine), not as the container's env.
  const parameters: SeedParameter[] = [
    { name: seedEnvironment.source, value: imageVolume ? `${seedImageMountPath}${seed.path}` : seed.path },
    { name: seedEnvironment.target, value: seedStagingPath },
    { name: seedEnvironment.sentinel, value: seed.sentinel },
    { name: seedEnvironment.image, value: sandbox.image ?? '' },
  ];
  if (uid !== undefined) parameters.push({ name: seedEnvironment.uid, value: String(uid) });
  if (gid !== undefined) parameters.push({ name: seedEnvironment.gid, value: String(gid) });
  if (seed.reseed !== 'merge') parameters.push({ name: seedEnvironment.reseed, value: seed.reseed });
  if (seed.imageOwnedPaths.length > 0) parameters.push({ name: seedEnvironment.imageOwned, value: seed.imageOwnedPaths.join('\n') });

  const stagingMount: V1VolumeMount = { name: seededMount.name, mountPath: seedStagingPath };
  if (seededMount.subPath !== undefined) stagingMount.subPath = seededMount.subPath;
  // Only on a workspace volume: it is the tenant's own, so whatever kubelet resolves the subPath to stays in it. On a
  // shared volume the seeder runs the tenant's image over the tenant's directory and could plant a symlink there
  // pointing at another tenant's; there the directory itself is mounted (preparation makes it the user's).
  let sandboxMount: V1VolumeMount | undefined;
  const ownSubPath = sandbox.volumeMounts?.find((mount) => mount.mountPath === seededMount.mountPath)?.subPath;
  if (policy.spec.mode === 'workspace' && seededMount.subPath === undefined && [undefined, '', seedHomeDirectory].includes(ownSubPath)) {
    parameters.push({ name: seedEnvironment.home, value: seedHomeDirectory });
    sandboxMount = { ...seededMount, subPath: seedHomeDirectory };
  }

  const delivery = scriptDelivery(policy, parameters);
  const container: V1Container = {
    name: seedContainerName,
    image: imageVolume ? seed.seederImage : sandbox.image,
    command: delivery.command,
    volumeMounts: delivery.mount ? [stagingMount, delivery.mount] : [stagingMount],
  };
  if (!imageVolume && sandbox.imagePullPolicy !== undefined) container.imagePullPolicy = sandbox.imagePullPolicy;
  // As root it chowns what it writes to the sandbox's uid/gid; otherwise it runs as the sandbox itself, so what it
  // writes belongs to the sandbox user without any chown (and passes the same Pod Security checks as the sandbox).
  const asRoot = seederRunsAsRoot(policy, context, { ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) });
  if (asRoot) {
    container.securityContext = rootSecurityContext();
  } else if (sandbox.securityContext !== undefined) {
    container.securityContext = sandbox.securityContext; // shared, never changed: the answer serialises it
  }
  if (!asRoot && policy.spec.mode === 'shared' && !policy.spec.shared.preparation.enabled && runsAsNonRootUser(policy, context, uid)) {
    warnings.push(
      `sandbox-storage: the seeder runs as the sandbox user on the shared volume, but kubelet creates a missing subPath directory as root, so the seed may fail to write ${seed.path}; enable spec.shared.preparation in policy "${policy.name}" (the controller then creates the directories owned by the sandbox user before the Pod starts) or create them so beforehand`,
    );
  }
  // Copying the sandbox's resources never raises the Pod's effective request and satisfies quotas that demand limits.
  if (sandbox.resources !== undefined) container.resources = sandbox.resources;

  const injection: SeedInjection = { container, warnings };
  if (sandboxMount) injection.sandboxMount = sandboxMount;
  if (delivery.volume) injection.scriptVolume = delivery.volume;
  if (delivery.configMapName) injection.scriptConfigMap = delivery.configMapName;
  if (!imageVolume) return injection;
  container.volumeMounts?.push({ name: seedImageVolumeName, mountPath: seedImageMountPath, readOnly: true });
  const volume: V1Volume = { name: seedImageVolumeName, image: { reference: sandbox.image ?? '' } };
  if (sandbox.imagePullPolicy !== undefined && volume.image) volume.image.pullPolicy = sandbox.imagePullPolicy;
  return { ...injection, volume };
}
