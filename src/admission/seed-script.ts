// The seed init container's script lives in src/seed/seed.sh (plain POSIX sh, linted by shellcheck; its header
// comment explains the record and the merge rules). This module reads it once at load and shrinks it for the Pods.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { minifyShellScript } from './shell-minify.ts';

/** Names of the environment variables the seed script reads. */
export const seedEnvironment = {
  /** Absolute path of the image directory to copy, e.g. `/sandbox`. A missing directory means nothing to seed. */
  source: 'SEED_SOURCE',
  /** Absolute path where the volume is mounted in the init container, e.g. `/sandbox-storage/seed-target`. */
  target: 'SEED_TARGET',
  /** File name (no `/`) of the seed record inside the target, e.g. `.sandbox-storage-seeded`. */
  sentinel: 'SEED_SENTINEL',
  /** Image reference: recorded, and compared with the record to detect an image change. */
  image: 'SEED_IMAGE',
  /** Optional numeric uid the copied files are chowned to when the script runs as root. */
  uid: 'SEED_UID',
  /** Optional numeric gid the copied files are chowned to when the script runs as root. */
  gid: 'SEED_GID',
  /** `merge` (default) or `never`: what an image change does to a volume that was seeded before. */
  reseed: 'SEED_RESEED',
  /** Paths relative to the source, one a line, that belong to the image: always replaced on an image change. */
  imageOwned: 'SEED_IMAGE_OWNED',
  /**
   * Optional plain name of the directory below the target that holds the seeded tree (the sandbox mounts it): made a
   * real directory of the sandbox user's on every start, the user's entries of the earlier layout moved into it.
   */
  home: 'SEED_HOME',
} as const;

/** The readable seed script, as kept in the repository (src/seed/seed.sh); `seedScript` is what Pods carry. */
export const seedScriptSource = readFileSync(new URL('../seed/seed.sh', import.meta.url), 'utf8');

/**
 * The POSIX sh seed script without comments and indentation (it travels in every sandbox Pod's spec and admission
 * patch); run it as `["/bin/sh", "-c", seedScript]` with the `seedEnvironment` variables set. The tests run this form.
 */
export const seedScript = minifyShellScript(seedScriptSource);

/**
 * SHA-256 (hex) of a script as the seed container's wrapper hashes it: it reads the file with `$(cat ...)`, which drops
 * trailing newlines, and runs exactly the text it hashed.
 */
export function scriptSha256(text: string): string {
  return createHash('sha256').update(text.replace(/\n+$/, ''), 'utf8').digest('hex');
}

/** The hash every configMap and imageVolume seed container checks before running the script. */
export const seedScriptSha256 = scriptSha256(seedScriptSource);
