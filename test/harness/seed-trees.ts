// File trees for the seed tests: build one from a description, read one back (never following symlinks).
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';

export interface Tree {
  [path: string]: { file: string; mode?: number } | { dir: number } | { link: string };
}

export function buildTree(root: string, tree: Tree): void {
  mkdirSync(root, { recursive: true });
  for (const [path, entry] of Object.entries(tree)) {
    const full = join(root, path);
    if ('dir' in entry) mkdirSync(full, { recursive: true });
    else if ('link' in entry) symlinkSync(entry.link, full);
    else writeFileSync(full, entry.file);
  }
  // Modes last and deepest first, so that 0500 or 0700 directories do not stop the build.
  for (const [path, entry] of Object.entries(tree).reverse()) {
    if ('dir' in entry) chmodSync(join(root, path), entry.dir);
    else if ('file' in entry) chmodSync(join(root, path), entry.mode ?? 0o644);
  }
}

/** Every entry below root by relative path: type, mode, content or link target; `exclude` drops a path and all below. */
export function readTree(root: string, exclude: (path: string) => boolean = () => false): Record<string, string> {
  const result: Record<string, string> = {};
  const visit = (directory: string, prefix: string): void => {
    for (const name of readdirSync(directory).sort()) {
      const relative = prefix ? `${prefix}/${name}` : name;
      if (exclude(relative)) continue;
      const full = join(directory, name);
      const stats = lstatSync(full);
      const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
      if (stats.isSymbolicLink()) result[relative] = `link -> ${readlinkSync(full)}`;
      else if (stats.isDirectory()) {
        result[relative] = `dir ${mode}`;
        visit(full, relative);
      } else result[relative] = `file ${mode} ${readFileSync(full, 'utf8')}`;
    }
  };
  visit(root, '');
  return result;
}

/** A list of directories removed after each test, made writable first (the trees hold 0500 and 0700 directories). */
export function removedAfterEachTest(): string[] {
  const directories: string[] = [];
  afterEach(() => {
    for (const directory of directories.splice(0)) {
      spawnSync('chmod', ['-R', 'u+rwX', directory]);
      rmSync(directory, { recursive: true, force: true });
    }
  });
  return directories;
}
