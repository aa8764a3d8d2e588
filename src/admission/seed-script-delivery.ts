// How the seed script reaches the seed init container (spec.seed.scriptDelivery): by reference — a ConfigMap or the
// product's image mounted read-only, behind a wrapper that checks the script's SHA-256 and runs exactly what it
// hashed — or inline in the command. Whoever can change the script runs code as root over the tenants' storage.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { Policy } from '../policy/types.ts';
import { seedScript, seedScriptSha256 } from './seed-script.ts';

export const seedScriptVolumeName = 'sandbox-storage-seed-script';
export const seedScriptMountPath = '/sandbox-storage/seed-script';
/** The data key of the ConfigMap, and so the file name in its volume. */
export const seedScriptKey = 'seed.sh';
/** Where the product image keeps the script (the Dockerfile installs the package into /app). */
export const seedScriptImagePath = 'app/dist/src/seed/seed.sh';
export const seedScriptConfigMapPrefix = 'sandbox-storage-seed-';
/** Hex digits of the hash in the ConfigMap's name and label: enough to tell versions apart; the Pod checks all 64. */
export const seedScriptNameHashLength = 16;

/** The ConfigMap name of a script version, e.g. sandbox-storage-seed-0123456789abcdef. */
export function seedScriptConfigMapName(sha256: string = seedScriptSha256): string {
  return `${seedScriptConfigMapPrefix}${sha256.slice(0, seedScriptNameHashLength)}`;
}

/**
 * The kubelet rewrites container command and args: `$(NAME)` becomes the value of env NAME and `$$` becomes `$`.
 * Doubling every `$` makes it hand the shell the text exactly as written (no `$(` survives unescaped).
 */
export function escapeForKubelet(text: string): string {
  return text.replace(/\$/g, () => '$$');
}

/**
 * The wrapper (before kubelet escaping): reads the script once, hashes what it read and runs that same text, so a file
 * swapped after the check is never run. Without sha256sum it fails closed; either refusal goes to the log and the
 * termination message. `file` must need no quoting (a fixed path of ours).
 */
export function verifiedScriptWrapper(file: string, sha256: string, terminationLog = '/dev/termination-log'): string {
  return [
    `f=${file} e=${sha256}`,
    'if ! command -v sha256sum >/dev/null;then m="no sha256sum in the image to verify $f"',
    'elif s=$(cat $f)&&h=$(printf %s "$s"|sha256sum)&&[ "${h%% *}" = $e ];then exec /bin/sh -c "$s"',
    'else m="$f is not the seed script of SHA-256 $e";fi',
    `m="sandbox-storage seed: not run: $m";echo "$m">&2;echo "$m">${terminationLog} 2>/dev/null;exit 1`,
  ].join('\n');
}

/** One parameter of the seed script (an environment variable it reads, see seedEnvironment). */
export interface SeedParameter {
  name: string;
  value: string;
}

/** A POSIX sh single-quoted word: any text, newlines and quotes included, reaches the shell unchanged. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * The first line of the seed container's shell command: the script's parameters, exported so that the script the
 * wrapper runs sees them. In the command rather than the container's env, because every field of a Pod spec costs
 * the API server, etcd and each Pod watcher on every sandbox Pod (bench: Pod CREATE overhead), and one string
 * costs less than a list of objects.
 */
export function seedParameterLine(parameters: readonly SeedParameter[]): string {
  return `export ${parameters.map(({ name, value }) => `${name}=${shellQuote(value)}`).join(' ')}`;
}

export interface ScriptDelivery {
  command: string[];
  /** The volume the script comes from, and its mount in the seed container (none for inline). */
  volume?: V1Volume;
  mount?: V1VolumeMount;
  /** The ConfigMap the Pod needs in its namespace (configMap delivery): the controller makes it exist. */
  configMapName?: string;
}

/** The wrapper of each script location as the kubelet must see it: the same text for every Pod, so made once. */
const escapedWrappers = new Map<string, string>();
function escapedWrapper(file: string): string {
  let text = escapedWrappers.get(file);
  if (text === undefined) {
    text = escapeForKubelet(verifiedScriptWrapper(file, seedScriptSha256));
    escapedWrappers.set(file, text);
  }
  return text;
}

let escapedInlineScript: string | undefined;

/** `parameters`: what the script reads, set by the command's first line (see seedParameterLine). */
export function scriptDelivery(policy: Policy, parameters: readonly SeedParameter[]): ScriptDelivery {
  const seed = policy.spec.seed;
  const line = escapeForKubelet(seedParameterLine(parameters));
  if (seed.scriptDelivery === 'inline') return { command: ['/bin/sh', '-c', `${line}\n${(escapedInlineScript ??= escapeForKubelet(seedScript))}`] };
  const mount: V1VolumeMount = { name: seedScriptVolumeName, mountPath: seedScriptMountPath, readOnly: true };
  if (seed.scriptDelivery === 'imageVolume') {
    return {
      command: ['/bin/sh', '-c', `${line}\n${escapedWrapper(`${seedScriptMountPath}/${seedScriptImagePath}`)}`],
      volume: { name: seedScriptVolumeName, image: { reference: seed.scriptImage } },
      mount,
    };
  }
  const configMapName = seedScriptConfigMapName();
  return {
    command: ['/bin/sh', '-c', `${line}\n${escapedWrapper(`${seedScriptMountPath}/${seedScriptKey}`)}`],
    // 0444: readable by whichever user the seeder runs as; nothing in the volume is executable or writable.
    volume: { name: seedScriptVolumeName, configMap: { name: configMapName, defaultMode: 0o444 } },
    mount,
    configMapName,
  };
}
