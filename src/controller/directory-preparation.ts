// Directory preparation: the identity's directories on a shared volume must exist with the sandbox's owner and mode
// before the sandbox Pod starts, because kubelet creates a missing subPath as root (ignoring fsGroup) and a seeder
// that runs as the sandbox user (the only choice in a `restricted` namespace) cannot chown. The controller runs a
// short preparation Pod while the sandbox Pod waits behind its scheduling gate:
//
//   const plan = preparationPlan(policy, identity)             // which directories, below which prefix
//   const pod = buildPreparationPod({ plan, ... })            // create it in the controller's namespace,
//   wait for phase Succeeded (Failed: an Event with the log)  // on an admin-provided claim to the same share,
//   delete it, then remove the sandbox Pod's scheduling gate.
//
// Pure: no I/O here. The shell script is the preparation logic itself (tested for real in temp directories).
import type { V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { SandboxIdentity } from '../admission/identity.ts';
import { contentHash } from '../naming/identity-names.ts';
import { parseSubPathTemplate, renderSubPath } from '../naming/subpath-template.ts';
import type { Policy } from '../policy/types.ts';
import { managedByValue, ownershipLabels, preparationLabel, preparationPurpose, preparationPurposeLabel } from '../labels.ts';

/** What to create on the share for one identity. */
export interface PreparationPlan {
  /** The identity's own top directory on the share, e.g. `users/alice`; '' for a volume of its own (workspace). */
  prefix: string;
  /** Directories below `prefix` that sandbox Pods of this identity mount, e.g. `threads/t1/user-data`. */
  directories: string[];
}

/**
 * The identity's prefix is the template path up to its `{user}` segment, rendered: everything a sandbox of this
 * user can mount lies below it, and nothing of another user does (the directory encoding is injective).
 */
export function preparationPlan(policy: Policy, identity: SandboxIdentity): PreparationPlan {
  if (policy.spec.mode === 'workspace') return { prefix: '', directories: [] };
  const rendered = policy.spec.shared.mounts.map((mount) => {
    const parsed = parseSubPathTemplate(mount.subPath);
    const userSegment = parsed.segments.findIndex((segment) => segment.includes('{user}'));
    const segments = renderSubPath(parsed, identity).split('/');
    return { prefix: segments.slice(0, userSegment + 1).join('/'), below: segments.slice(userSegment + 1).join('/') };
  });
  const prefix = rendered[0]?.prefix ?? '';
  const directories = rendered.filter((mount) => mount.prefix === prefix && mount.below !== '').map((mount) => mount.below);
  return { prefix, directories: [...new Set(directories)] };
}

/** Environment of the preparation script. */
export const preparationEnvironment = {
  /** Absolute path where the share (or the prefix) is mounted. */
  root: 'PREP_ROOT',
  /** Lines `MODE RELATIVE-PATH` (octal mode): every missing component of the path is created with MODE. */
  directories: 'PREP_DIRS',
  uid: 'PREP_UID',
  gid: 'PREP_GID',
  /** `MODE` to give PREP_ROOT itself (root only): set when PREP_ROOT is the identity's prefix. */
  rootMode: 'PREP_ROOT_MODE',
} as const;

/**
 * Creates the directories with owner PREP_UID:PREP_GID and the given modes; fixes the owner and mode of ones that
 * exist (e.g. created as root by kubelet). As root it chowns; as the identity's own uid (NFS with root_squash, where
 * root cannot chown) it creates and checks. A symlink or a non-directory anywhere in a path is refused.
 */
export const preparationScript = `set -eu
log() { printf 'sandbox-storage prepare: %s\\n' "$*"; }
fail() { printf 'sandbox-storage prepare: error: %s\\n' "$*" >&2; exit 1; }
root=\${PREP_ROOT-}
dirs=\${PREP_DIRS-}
uid=\${PREP_UID-}
gid=\${PREP_GID-}
root_mode=\${PREP_ROOT_MODE-}
case "$root" in /*) ;; *) fail "PREP_ROOT must be an absolute path, got '$root'" ;; esac
case "$uid" in ''|*[!0-9]*) fail "PREP_UID must be a numeric user id, got '$uid'" ;; esac
case "$gid" in ''|*[!0-9]*) fail "PREP_GID must be a numeric group id, got '$gid'" ;; esac
case "$root_mode" in ''|[0-7][0-7][0-7]|[0-7][0-7][0-7][0-7]) ;; *) fail "PREP_ROOT_MODE must be an octal mode, got '$root_mode'" ;; esac
if [ -L "$root" ] || [ ! -d "$root" ]; then fail "$root is not a directory (is the share mounted?)"; fi
euid=$(id -u)
if [ "$euid" != 0 ] && [ "$euid" != "$uid" ]; then fail "runs as uid $euid: must run as root, or as the identity's uid $uid"; fi
created=0
checked=0
ensure() {
  # ensure PATH MODE
  if [ -L "$1" ]; then fail "$1 is a symlink: refusing to prepare through it"; fi
  if [ -e "$1" ] && [ ! -d "$1" ]; then fail "$1 exists and is not a directory"; fi
  if [ ! -d "$1" ]; then
    (umask 077 && mkdir "$1") || fail "cannot create $1"
    created=$((created + 1))
  fi
  checked=$((checked + 1))
  if [ "$euid" = 0 ]; then
    chown -h "$uid:$gid" "$1" || fail "cannot chown $1 to $uid:$gid"
  else
    owner=$(stat -c %u "$1")
    if [ "$owner" != "$uid" ]; then
      fail "$1 belongs to uid $owner, not $uid, and only root can change that (root_squash? then an admin must fix it once)"
    fi
  fi
  chmod "$2" "$1" || fail "cannot chmod $1 to $2"
}
if [ -n "$root_mode" ]; then
  if [ "$euid" != 0 ]; then fail "PREP_ROOT_MODE needs root: the mount root is the identity's prefix, made by kubelet"; fi
  ensure "$root" "$root_mode"
fi
while IFS=' ' read -r mode path; do
  [ -n "$mode$path" ] || continue
  case "$mode" in [0-7][0-7][0-7]|[0-7][0-7][0-7][0-7]) ;; *) fail "bad mode '$mode' in PREP_DIRS" ;; esac
  case "/$path/" in /|*/../*|*/./*|*//*) fail "bad path '$path' in PREP_DIRS: must be relative and normalised" ;; esac
  case "$path" in /*) fail "bad path '$path' in PREP_DIRS: must be relative" ;; esac
  current=$root
  rest=$path
  while [ -n "$rest" ]; do
    segment=\${rest%%/*}
    if [ "$segment" = "$rest" ]; then rest=''; else rest=\${rest#*/}; fi
    current="$current/$segment"
    ensure "$current" "$mode"
  done
done <<EOF
$dirs
EOF
log "prepared $checked directories under $root for $uid:$gid ($created created)"
`;

export interface PreparationPodOptions {
  /** Pod name (the controller derives it from the identity, e.g. with workspaceClaimName's hash). */
  name: string;
  /** The controller's namespace, where the admin-provided claim lives. */
  namespace: string;
  /** A claim on the same share as the sandboxes' shared claim (e.g. a second PV for the same NFS export). */
  claimName: string;
  plan: PreparationPlan;
  uid: number;
  gid: number;
  /** Image with /bin/sh, mkdir, chown, chmod, stat and id (the project's own image). */
  image: string;
  /**
   * `root` (default): mounts only the identity's prefix and chowns (kubelet creates a missing prefix as root).
   * `identity`: for NFS with root_squash, where root cannot chown: runs as uid:gid and mounts the prefix's
   * parent (which the admin makes writable for sandbox users, e.g. mode 1733), creating the prefix itself.
   */
  runAs?: 'root' | 'identity';
  /** Mode of the identity's directories; 0700 keeps other users out even if they share a group. */
  mode?: number;
  labels?: Record<string, string>;
}

export const preparationMountPath = '/sandbox-storage/prepare';
export const preparationContainerName = 'prepare';

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

export function buildPreparationPod(options: PreparationPodOptions): V1Pod {
  const runAs = options.runAs ?? 'root';
  const mode = octal(options.mode ?? 0o700);
  const { prefix, directories } = options.plan;
  const prefixSegments = prefix === '' ? [] : prefix.split('/');
  // As root: mount the prefix and fix it and everything below. As the identity: mount the parent, create the prefix.
  const mountSubPath = runAs === 'root' ? prefix : prefixSegments.slice(0, -1).join('/');
  const relative = (directory: string) => (runAs === 'root' ? directory : [prefixSegments.at(-1), directory].filter(Boolean).join('/'));
  const lines = (runAs === 'identity' && prefixSegments.length > 0 ? [relative('')] : []).concat(directories.map(relative));
  const env: V1EnvVar[] = [
    { name: preparationEnvironment.root, value: preparationMountPath },
    { name: preparationEnvironment.directories, value: lines.map((line) => `${mode} ${line}`).join('\n') },
    { name: preparationEnvironment.uid, value: String(options.uid) },
    { name: preparationEnvironment.gid, value: String(options.gid) },
  ];
  if (runAs === 'root') env.push({ name: preparationEnvironment.rootMode, value: mode });

  const securityContext =
    runAs === 'root'
      ? {
          runAsUser: 0,
          runAsGroup: 0,
          runAsNonRoot: false,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] },
          seccompProfile: { type: 'RuntimeDefault' },
        }
      : {
          runAsUser: options.uid,
          runAsGroup: options.gid,
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        };
  const volumeMount: { name: string; mountPath: string; subPath?: string } = { name: 'share', mountPath: preparationMountPath };
  if (mountSubPath !== '') volumeMount.subPath = mountSubPath;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: { [ownershipLabels.managedBy]: managedByValue, [preparationPurposeLabel]: preparationPurpose, ...options.labels },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      activeDeadlineSeconds: 300,
      terminationGracePeriodSeconds: 5,
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: preparationContainerName,
          image: options.image,
          command: ['/bin/sh', '-c', preparationScript],
          env,
          securityContext,
          volumeMounts: [volumeMount],
          // The script's error line becomes the termination message, quoted in the PreparationFailed Event.
          terminationMessagePolicy: 'FallbackToLogsOnError',
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
        },
      ],
      volumes: [{ name: 'share', persistentVolumeClaim: { claimName: options.claimName } }],
    },
  };
}

/** The owner the directories get: the uid:gid the sandbox container runs as. */
export interface SandboxOwner {
  uid: number;
  gid: number;
}

/**
 * The sandbox container's runAsUser/runAsGroup (the container's own settings win over the Pod's). Without a group,
 * fsGroup, then 0: the group a container runtime gives a uid the image does not know (a 0700 directory ignores its
 * group anyway). Without a uid there is no owner to prepare for: undefined.
 */
export function sandboxOwner(pod: V1Pod, containerName: string): SandboxOwner | undefined {
  const containers = pod.spec?.containers ?? [];
  const sandbox = containerName === '' ? containers[0] : containers.find((container) => container.name === containerName);
  const podContext = pod.spec?.securityContext;
  const uid = sandbox?.securityContext?.runAsUser ?? podContext?.runAsUser;
  if (uid === undefined) return undefined;
  const gid = sandbox?.securityContext?.runAsGroup ?? podContext?.runAsGroup ?? podContext?.fsGroup ?? 0;
  return { uid, gid };
}

/** Everything one preparation Pod does; Pods that need the same one share it. */
export interface PreparationTarget {
  namespace: string;
  claimName: string;
  runAs: 'root' | 'identity';
  /** Octal mode as the policy writes it, e.g. `0700`. */
  mode: string;
  plan: PreparationPlan;
  owner: SandboxOwner;
}

/**
 * Hash of exactly what is prepared (where, which directories, owner, mode): the preparation Pod's name derives from
 * it, so concurrent reconciles and replicas create one Pod (409 = already there), a Pod of the same identity with
 * the same directories reuses a finished preparation, and one of a new thread (new directories) gets its own.
 */
export function preparationKey(target: PreparationTarget): string {
  const { namespace, claimName, runAs, mode, plan, owner } = target;
  return contentHash(
    JSON.stringify([namespace, claimName, runAs, Number.parseInt(mode, 8), plan.prefix, [...plan.directories].sort(), owner.uid, owner.gid]),
  );
}

export function preparationPodName(key: string): string {
  return `sandbox-storage-prepare-${key}`;
}

/** The preparation Pod for a target, labelled with its key and annotated with the work key to re-check on changes. */
export function preparationPodFor(target: PreparationTarget, image: string, annotations: Record<string, string> = {}): V1Pod {
  const key = preparationKey(target);
  const pod = buildPreparationPod({
    name: preparationPodName(key),
    namespace: target.namespace,
    claimName: target.claimName,
    plan: target.plan,
    uid: target.owner.uid,
    gid: target.owner.gid,
    image,
    runAs: target.runAs,
    mode: Number.parseInt(target.mode, 8),
    labels: { [preparationLabel]: key },
  });
  if (Object.keys(annotations).length > 0) pod.metadata = { ...pod.metadata, annotations };
  return pod;
}

/** Why a finished preparation Pod failed: the container's termination message (or its last log line), else its reason. */
export function preparationFailure(pod: V1Pod): string {
  const terminated = pod.status?.containerStatuses?.find((status) => status.name === preparationContainerName)?.state?.terminated;
  const lastLine = terminated?.message?.trim().split('\n').at(-1)?.trim();
  if (lastLine) return lastLine;
  if (terminated) return `exit code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}`;
  return [pod.status?.reason, pod.status?.message].filter(Boolean).join(': ') || 'the preparation Pod failed without a message';
}
