// The migration Pods' scripts run for real on temporary directories, under dash with GNU tools, busybox sh with
// busybox tools, and a static busybox that prefers its applets: what the copy keeps (owners, modes, times, hard
// links, symlinks, FIFOs, awkward names), what it refuses (data in the target, symlinks on either path, reserved
// names), a rerun, kill -9 at random points, that the source never changes, and the seeder adopting the result.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { copyEnvironment, copyScript, inventoryScript, migrationRecordName, parseCopyResult, parseInventory } from '../../src/migrate/scripts.ts';
import { findBusybox, findStaticBusybox, runSeedScript, seedShells } from '../harness/seed-runner.ts';

const tools = ['sh', 'id', 'tar', 'find', 'stat', 'sort', 'awk', 'sha256sum', 'readlink', 'mkdir', 'mv', 'rm', 'chmod', 'chown', 'cat', 'cmp', 'wc', 'head', 'tr', 'du'];
const isRoot = process.getuid?.() === 0;

interface Shell {
  label: string;
  argv: string[];
  binDir?: string;
}

function busyboxShell(label: string, busybox: string | undefined): Shell | undefined {
  if (!busybox) return undefined;
  const binDir = mkdtempSync(join(tmpdir(), 'migrate-busybox-'));
  for (const tool of tools) symlinkSync(busybox, join(binDir, tool));
  return { label, argv: [busybox, 'sh'], binDir };
}

const shells: Shell[] = [
  { label: 'dash with GNU tools', argv: ['/bin/sh'] },
  ...[busyboxShell('busybox sh with busybox tools', findBusybox()), busyboxShell('static busybox preferring its applets', findStaticBusybox())].filter((shell): shell is Shell => shell !== undefined),
];
afterAll(() => shells.forEach((shell) => shell.binDir && rmSync(shell.binDir, { recursive: true, force: true })));

const temporary: string[] = [];
afterEach(() => temporary.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-copy-'));
  temporary.push(dir);
  return dir;
}

function run(shell: Shell, script: string, env: Record<string, string>, wrapper: string[] = []) {
  const path = [...(shell.binDir ? [shell.binDir] : []), process.env.PATH ?? '/usr/bin:/bin'].join(':');
  const argv = [...wrapper, ...shell.argv, '-c', script];
  const result = spawnSync(argv[0] as string, argv.slice(1), { env: { PATH: path, LC_ALL: 'C', ...env }, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return result;
}

interface Layout {
  root: string;
  sourceRoot: string;
  targetRoot: string;
  sourcePath: string;
  targetPath: string;
}

function layout(): Layout {
  const root = scratch();
  const layoutOf = { root, sourceRoot: join(root, 'source'), targetRoot: join(root, 'target'), sourcePath: 'threads/Al ice_1/user-data', targetPath: 'users/_al_ice/threads/t1/user-data' };
  mkdirSync(join(layoutOf.sourceRoot, layoutOf.sourcePath), { recursive: true });
  mkdirSync(layoutOf.targetRoot);
  return layoutOf;
}

/** An awkward user tree: modes, owners, times, hard and symbolic links, a FIFO, names with spaces, quotes, `-`. */
function fill(dir: string, extraFiles = 0): void {
  mkdirSync(join(dir, 'sub/private'), { recursive: true });
  writeFileSync(join(dir, 'notes.txt'), 'mine\n');
  chmodSync(join(dir, 'notes.txt'), 0o600);
  linkSync(join(dir, 'notes.txt'), join(dir, 'sub/hard-link'));
  symlinkSync('notes.txt', join(dir, 'relative-link'));
  symlinkSync('/etc/passwd', join(dir, 'absolute-link'));
  symlinkSync('../../../../escape', join(dir, 'sub/dotdot-link'));
  writeFileSync(join(dir, `-n "quoted" it's\tTAB $(x)`), 'awkward\n');
  writeFileSync(join(dir, '.hidden'), '');
  writeFileSync(join(dir, 'sub/private/secret'), 'secret\n');
  chmodSync(join(dir, 'sub/private'), 0o700);
  chmodSync(join(dir, 'sub'), 0o2775);
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(dir, 'run.sh'), 0o4755);
  spawnSync('mkfifo', [join(dir, 'pipe')]);
  for (let index = 0; index < extraFiles; index++) {
    const sub = join(dir, `many/d${index % 17}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${index}`), createHash('sha256').update(String(index)).digest('hex').repeat(index % 50));
  }
  utimesSync(join(dir, 'notes.txt'), new Date('2020-02-02T02:02:02Z'), new Date('2020-02-02T02:02:02Z'));
  if (isRoot) {
    chownSync(join(dir, 'sub/private'), 1234, 4321);
    chownSync(join(dir, 'sub/private/secret'), 1234, 4321);
    spawnSync('chown', ['-h', '5:6', join(dir, 'relative-link')]);
    chownSync(dir, 1000, 1000);
  }
}

/** Every entry below `dir` (not following symlinks): type, mode, owner, times of files, content, link targets, inodes shared. */
function snapshot(dir: string, exclude: (name: string) => boolean = () => false): Record<string, string> {
  const result: Record<string, string> = {};
  const inodes = new Map<number, string[]>();
  const visit = (path: string, relative: string) => {
    const stats = lstatSync(path);
    const owner = `${stats.uid}:${stats.gid}`;
    const mode = (stats.mode & 0o7777).toString(8);
    if (stats.isSymbolicLink()) result[relative] = `link ${owner} -> ${readlinkSync(path)}`;
    else if (stats.isDirectory()) {
      result[relative] = `dir ${mode} ${owner}`;
      for (const name of readdirSync(path).sort()) if (!(relative === '.' && exclude(name))) visit(join(path, name), relative === '.' ? name : `${relative}/${name}`);
    } else if (stats.isFIFO()) result[relative] = `fifo ${mode} ${owner}`;
    else {
      result[relative] = `file ${mode} ${owner} ${Math.floor(stats.mtimeMs / 1000)} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
      if (stats.nlink > 1) inodes.set(stats.ino, [...(inodes.get(stats.ino) ?? []), relative]);
    }
  };
  visit(dir, '.');
  result['hard links'] = [...inodes.values()].map((group) => group.sort().join(' = ')).sort().join('; ');
  return result;
}

const reserved = (name: string) => name === migrationRecordName || name.startsWith(`${migrationRecordName}.`);

function copy(shell: Shell, where: Layout, extra: Record<string, string> = {}, wrapper: string[] = []) {
  return run(
    shell,
    copyScript,
    {
      [copyEnvironment.sourceRoot]: where.sourceRoot,
      [copyEnvironment.sourcePath]: where.sourcePath,
      [copyEnvironment.targetRoot]: where.targetRoot,
      [copyEnvironment.targetPath]: where.targetPath,
      [copyEnvironment.plan]: 'planidplanidplanid22',
      [copyEnvironment.key]: 'itemkeyitemkeyitem22',
      [copyEnvironment.record]: migrationRecordName,
      [copyEnvironment.resultFile]: join(where.root, 'result'),
      ...extra,
    },
    wrapper,
  );
}

const resultOf = (where: Layout) => parseCopyResult(existsSync(join(where.root, 'result')) ? readFileSync(join(where.root, 'result'), 'utf8') : undefined);

for (const shell of shells) {
  describe(`migration copy under ${shell.label}`, () => {
    it('copies everything exactly, records it, does nothing on a rerun and never changes the source', () => {
      const where = layout();
      const source = join(where.sourceRoot, where.sourcePath);
      fill(source, 40);
      const before = snapshot(where.sourceRoot);
      const first = copy(shell, where);
      expect(first.status, first.stderr).toBe(0);
      const result = resultOf(where);
      expect(result).toMatchObject({ result: 'copied', entries: Object.keys(snapshot(source)).length - 2 });
      const target = join(where.targetRoot, where.targetPath);
      expect(snapshot(target, reserved)).toEqual(snapshot(source));
      expect(readdirSync(target).filter(reserved)).toEqual([migrationRecordName]);
      expect(readFileSync(join(target, migrationRecordName), 'utf8')).toBe(
        `sandbox-storage migrated 1\nplan planidplanidplanid22\nkey itemkeyitemkeyitem22\nentries ${(result as { entries: number }).entries}\nsha256 ${(result as { sha256: string }).sha256}\n`,
      );
      const copied = snapshot(where.targetRoot);
      const again = copy(shell, where);
      expect(again.status, again.stderr).toBe(0);
      expect(resultOf(where)).toEqual({ ...result, result: 'done' });
      expect(snapshot(where.targetRoot)).toEqual(copied);
      expect(snapshot(where.sourceRoot)).toEqual(before);
    });

    it('copies an empty directory and the claim root', () => {
      const where = { ...layout(), sourcePath: '', targetPath: '' };
      writeFileSync(join(where.sourceRoot, 'top'), 'x');
      rmSync(join(where.sourceRoot, 'threads'), { recursive: true });
      expect(copy(shell, where).status).toBe(0);
      expect(snapshot(where.targetRoot, reserved)).toEqual(snapshot(where.sourceRoot));
    });

    it('refuses a target with data, and leaves it as it was', () => {
      const where = layout();
      fill(join(where.sourceRoot, where.sourcePath));
      const target = join(where.targetRoot, where.targetPath);
      mkdirSync(target, { recursive: true });
      writeFileSync(join(target, 'already-here'), 'theirs');
      const before = snapshot(where.targetRoot);
      const refused = copy(shell, where);
      expect(refused.status).toBe(1);
      expect(resultOf(where)).toEqual({ result: 'failed', message: `target ${target} is not empty; nothing is written over data` });
      expect(snapshot(where.targetRoot)).toEqual(before);
    });

    it('never follows a symlink on the source path or writes through one on the target path', () => {
      const where = layout();
      const outside = join(where.root, 'outside');
      mkdirSync(join(outside, 't1/user-data'), { recursive: true });
      writeFileSync(join(outside, 't1/user-data/not-yours'), 'x');
      // Source: a thread directory that is a link to somewhere else.
      symlinkSync(join(outside, 't1'), join(where.sourceRoot, 'threads/linked'));
      const viaSource = copy(shell, { ...where, sourcePath: 'threads/linked/user-data' });
      expect(viaSource.status).toBe(1);
      expect(resultOf(where)).toEqual({ result: 'failed', message: `${where.sourceRoot}/threads/linked is a symbolic link; not followed` });
      // Target: a planted link where the identity's directory would be made.
      fill(join(where.sourceRoot, where.sourcePath));
      mkdirSync(join(where.targetRoot, 'users/_al_ice'), { recursive: true });
      symlinkSync(outside, join(where.targetRoot, 'users/_al_ice/threads'));
      const before = snapshot(outside);
      expect(copy(shell, where).status).toBe(1);
      expect(resultOf(where)).toEqual({ result: 'failed', message: `${where.targetRoot}/users/_al_ice/threads is a symbolic link; not followed` });
      expect(snapshot(outside)).toEqual(before);
    });

    it('refuses a source and a target nested in each other on one claim', () => {
      const where = layout();
      const same = { ...where, targetRoot: where.sourceRoot };
      expect(copy(shell, { ...same, targetPath: 'threads/Al ice_1/user-data/new' }).status).toBe(1);
      expect(resultOf(where)).toEqual({ result: 'failed', message: 'the target is inside the source' });
      expect(copy(shell, { ...same, sourcePath: '', targetPath: 'users/x' }).status).toBe(1);
      expect(resultOf(where)).toEqual({ result: 'failed', message: 'the target is inside the source' });
      expect(copy(shell, { ...same, targetPath: 'threads' }).status).toBe(1);
      expect(resultOf(where)).toEqual({ result: 'failed', message: 'the source is inside the target' });
      writeFileSync(join(where.sourceRoot, where.sourcePath, 'a'), 'x');
      expect(copy(shell, { ...same, targetPath: 'threads/Al ice_1/user-data2' }).status).toBe(0);
      expect(readFileSync(join(where.sourceRoot, 'threads/Al ice_1/user-data2/a'), 'utf8')).toBe('x');
    });

    it('refuses a source holding the reserved record name, and a target another plan migrated to', () => {
      const where = layout();
      const source = join(where.sourceRoot, where.sourcePath);
      writeFileSync(join(source, `${migrationRecordName}.pending`), 'planidplanidplanid22 itemkeyitemkeyitem22');
      expect(copy(shell, where).status).toBe(1);
      expect(resultOf(where)).toEqual({ result: 'failed', message: `the source has an entry at the reserved name ${migrationRecordName}.pending` });
      rmSync(join(source, `${migrationRecordName}.pending`));
      writeFileSync(join(source, 'file'), 'x');
      expect(copy(shell, where, { [copyEnvironment.plan]: 'anotherplananotherpl' }).status).toBe(0);
      expect(copy(shell, where).status).toBe(1);
      expect(resultOf(where)).toEqual({ result: 'failed', message: `target ${join(where.targetRoot, where.targetPath)} holds data migrated by plan anotherplananotherpl` });
    });

    it('after kill -9 at random points, a rerun ends exactly like an uninterrupted copy', () => {
      const reference = layout();
      fill(join(reference.sourceRoot, reference.sourcePath), 200);
      expect(copy(shell, reference).status).toBe(0);
      const expected = snapshot(reference.targetRoot);
      for (const delay of [0.005, 0.02, 0.05, 0.08, 0.12, 0.2, 0.3]) {
        const where = layout();
        fill(join(where.sourceRoot, where.sourcePath), 200);
        // The tree is made anew, so only the times of the copies' own files may differ: compare without them.
        const killed = copy(shell, where, {}, ['timeout', '-s', 'KILL', String(delay)]);
        const rerun = copy(shell, where);
        expect(rerun.status, `after a kill at ${delay}s (exit ${killed.status} ${killed.signal}): ${rerun.stderr}`).toBe(0);
        const got = snapshot(where.targetRoot);
        const strip = (tree: Record<string, string>) => Object.fromEntries(Object.entries(tree).map(([path, entry]) => [path, path.endsWith(migrationRecordName) ? 'record' : entry.replace(/^(file \S+ \S+) \S+/, '$1')]));
        expect(strip(got)).toEqual(strip(expected));
        expect(readFileSync(join(where.targetRoot, where.targetPath, migrationRecordName), 'utf8')).toMatch(/^sandbox-storage migrated 1\nplan planidplanidplanid22\n/);
      }
    });

    it('lists source directories and target states for the plan, never through a symlink or a name with a newline', () => {
      const where = layout();
      mkdirSync(join(where.sourceRoot, 'threads/t\t2/user-data'), { recursive: true });
      mkdirSync(join(where.sourceRoot, 'threads/new\nline/user-data'), { recursive: true });
      writeFileSync(join(where.sourceRoot, where.sourcePath, 'a'), 'x'.repeat(5000));
      symlinkSync('/etc', join(where.sourceRoot, 'threads/etc'));
      const listed = run(shell, inventoryScript, { INVENTORY_ROOT: where.sourceRoot, INVENTORY_MODE: 'source', INVENTORY_DEPTH: '3' });
      const { entries, complete } = parseInventory(listed.stdout, 'legacy');
      expect(complete).toBe(true);
      expect(entries.map((entry) => [entry.path, entry.files]).sort()).toEqual([['threads/Al ice_1/user-data', 1], ['threads/t\t2/user-data', 0]]);
      expect(entries.find((entry) => entry.files === 1)?.kib).toBeGreaterThanOrEqual(4);

      mkdirSync(join(where.targetRoot, 'users/full'), { recursive: true });
      writeFileSync(join(where.targetRoot, 'users/full/x'), '');
      mkdirSync(join(where.targetRoot, 'users/empty/lost+found'), { recursive: true });
      symlinkSync('/etc', join(where.targetRoot, 'users/link'));
      const paths = ['users/full', 'users/empty', 'users/link/x', 'users/none/x', '.'];
      const states = run(shell, inventoryScript, { INVENTORY_ROOT: where.targetRoot, INVENTORY_MODE: 'target', INVENTORY_PATHS: paths.join('\n') });
      expect(Object.fromEntries(parseInventory(states.stdout, 'share').targets)).toEqual({
        'users/full': { state: 'notEmpty', entries: 1 },
        'users/empty': { state: 'empty' },
        'users/link/x': { state: 'blocked', reason: 'link is a symbolic link' },
        'users/none/x': { state: 'absent' },
        '': { state: 'notEmpty', entries: 1 },
      });
    });

    it('lists a workspace by its home directory when that is a real directory, never through a symlink there', () => {
      const where = layout();
      const home = '.sandbox-storage-home';
      const listRoot = () => parseInventory(run(shell, inventoryScript, { INVENTORY_ROOT: where.targetRoot, INVENTORY_MODE: 'source', INVENTORY_DEPTH: '0', INVENTORY_HOME: home }).stdout, 'ws').entries.map((entry) => entry.path);
      writeFileSync(join(where.targetRoot, 'old-layout-file'), 'x');
      expect(listRoot()).toEqual(['']);
      symlinkSync(where.sourceRoot, join(where.targetRoot, home));
      expect(listRoot()).toEqual(['']);
      rmSync(join(where.targetRoot, home));
      mkdirSync(join(where.targetRoot, home));
      expect(listRoot()).toEqual([home]);
    });
  });
}

describe('the seeder and a migrated volume', () => {
  it('adopts it: keeps every migrated file, adds only what the image has and the volume lacks', () => {
    const where = layout();
    const source = join(where.sourceRoot, where.sourcePath);
    fill(source);
    writeFileSync(join(source, 'README.md'), 'the user’s own readme\n');
    expect(copy(shells[0]!, where).status).toBe(0);
    const target = join(where.targetRoot, where.targetPath);
    const migrated = snapshot(target);
    const image = join(where.root, 'image');
    mkdirSync(join(image, 'skills'), { recursive: true });
    writeFileSync(join(image, 'README.md'), 'image readme\n');
    writeFileSync(join(image, 'skills/tool.md'), 'tool\n');
    const [dash] = seedShells();
    const seeded = runSeedScript(dash!, { SEED_SOURCE: image, SEED_TARGET: target, SEED_SENTINEL: '.sandbox-storage-seeded', SEED_IMAGE: 'registry.example/sandbox:1' });
    expect(seeded.status, seeded.stderr).toBe(0);
    const after = snapshot(target, (name) => name.startsWith('.sandbox-storage-seeded'));
    for (const [path, entry] of Object.entries(migrated)) if (path !== '.' && path !== 'hard links') expect(after[path], path).toBe(entry);
    expect(readFileSync(join(target, 'README.md'), 'utf8')).toBe('the user’s own readme\n');
    expect(readFileSync(join(target, 'skills/tool.md'), 'utf8')).toBe('tool\n');
    expect(existsSync(join(target, '.sandbox-storage-seeded'))).toBe(true);
  });
});
