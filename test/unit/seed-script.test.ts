// The seed init container's script, executed for real in temporary directories: under /bin/sh (dash) with the
// system's GNU tar, and under busybox sh with busybox's own tar, chown, mv, rm, date and id first in PATH.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedEnvironment, seedScript } from '../../src/admission/seed-script.ts';
import { posixCksum } from '../harness/posix-cksum.ts';
import { missingShellVariants, requireAllShellsVariable, seedShells } from '../harness/seed-runner.ts';
import { itWhere } from '../harness/test-where.ts';

const sentinelName = '.sandbox-storage-seeded';
const image = 'registry.example/agents/sandbox:1.2.3';
const isRoot = process.getuid?.() === 0;
/** The user non-root runs switch to when the tests run as root (tests run as root in CI). */
const nobody = 65534;

interface ShellVariant {
  label: string;
  /** Runs `<command> ...args -c <script>`. */
  command: string;
  args: string[];
  /** Directory put first in PATH so the script's tools come from busybox. */
  binDir?: string;
  available: boolean;
  busybox: boolean;
  prefersApplets: boolean;
  /** GNU tar restores the owner of symlinks when run as root; busybox tar leaves them owned by root. */
  restoresSymlinkOwners: boolean;
  /** GNU tar fills read-only (0555) directories as non-root (it sets directory modes last); busybox tar cannot. */
  fillsReadOnlyDirectoriesAsNonRoot: boolean;
  /** GNU tar -p keeps a directory's setgid/sticky bit as non-root; busybox tar drops them. */
  keepsDirectorySpecialBitsAsNonRoot: boolean;
}

const shells = seedShells();
afterAll(() => shells.forEach((shell) => shell.dispose()));
const variants: ShellVariant[] = shells.map((shell) => ({
  label: shell.label,
  command: shell.argv[0] as string,
  args: shell.argv.slice(1),
  ...(shell.binDir ? { binDir: shell.binDir } : {}),
  available: shell.available,
  busybox: shell.busybox,
  prefersApplets: shell.prefersApplets,
  restoresSymlinkOwners: !shell.busybox,
  fillsReadOnlyDirectoriesAsNonRoot: !shell.busybox,
  keepsDirectorySpecialBitsAsNonRoot: !shell.busybox,
}));

describe('seed shell variants', () => {
  it.runIf(process.env[requireAllShellsVariable] === '1')(`are all available (${requireAllShellsVariable}=1, as in CI)`, () => {
    expect(missingShellVariants(shells)).toEqual([]);
  });
});

const temporaryDirectories: string[] = [];

function makeTemporaryDirectory(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(directory, 0o755); // so that runs as another user can reach the source and the target
  temporaryDirectories.push(directory);
  return directory;
}

function removeTemporaryDirectories(): void {
  for (const directory of temporaryDirectories.splice(0)) {
    spawnSync('chmod', ['-R', 'u+rwX', directory]); // read-only directories would stop rmSync when not root
    rmSync(directory, { recursive: true, force: true });
  }
}

interface RunOptions {
  /** Run as this uid/gid (only possible as root). */
  as?: number;
  /** Directories put first in PATH (before the variant's busybox directory). */
  pathPrefix?: string[];
}

function runSeed(variant: ShellVariant, env: Record<string, string | undefined>, options: RunOptions = {}): SpawnSyncReturns<string> {
  const path = [...(options.pathPrefix ?? []), ...(variant.binDir ? [variant.binDir] : []), process.env.PATH ?? '/usr/bin:/bin'];
  const fullEnv: Record<string, string> = { PATH: path.join(':'), LC_ALL: 'C' };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) fullEnv[key] = value;
  const result = spawnSync(variant.command, [...variant.args, '-c', seedScript], {
    env: fullEnv,
    encoding: 'utf8',
    timeout: 30_000,
    ...(options.as !== undefined ? { uid: options.as, gid: options.as } : {}),
  });
  if (result.error) throw result.error;
  return result;
}

function describeRun(result: SpawnSyncReturns<string>): string {
  return `exit ${result.status} signal ${result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

interface Fixture {
  root: string;
  source: string;
  target: string;
  sentinel: string;
  env: Record<string, string>;
}

/** A first seed that failed with `reason` left nothing in place and no sentinel; run again as it was, it seeds. */
function expectStagedFailureThenSeed(variant: ShellVariant, result: SpawnSyncReturns<string>, reason: string, { target, sentinel, env }: Pick<Fixture, 'target' | 'sentinel' | 'env'>): void {
  expect(result.status, describeRun(result)).not.toBe(0);
  expect(result.stderr).toContain(reason);
  expect(existsSync(sentinel)).toBe(false);
  expect(readdirSync(target)).toEqual([]);
  const retry = runSeed(variant, env);
  expect(retry.status, describeRun(retry)).toBe(0);
  expect(existsSync(sentinel)).toBe(true);
}

function fixture(): Fixture {
  const root = makeTemporaryDirectory('seed-script-');
  const source = join(root, 'image', 'sandbox');
  const target = join(root, 'volume');
  mkdirSync(source, { recursive: true });
  mkdirSync(target);
  return {
    root,
    source,
    target,
    sentinel: join(target, sentinelName),
    env: { SEED_SOURCE: source, SEED_TARGET: target, SEED_SENTINEL: sentinelName, SEED_IMAGE: image },
  };
}

function writeFile(path: string, content: string | Buffer, mode: number): void {
  writeFileSync(path, content);
  chmodSync(path, mode);
}

function makeDirectory(path: string, mode: number): void {
  mkdirSync(path);
  chmodSync(path, mode);
}

const binaryContent = Buffer.from(Array.from({ length: 300_000 }, (_, index) => (index * 7919) % 256));

/** A tree with nested directories of various modes, hidden and odd names, a hard link and a FIFO. */
function populateTree(source: string): void {
  makeDirectory(join(source, 'bin'), 0o755);
  writeFile(join(source, 'bin', 'run.sh'), '#!/bin/sh\necho hello from the sandbox\n', 0o755);
  linkSync(join(source, 'bin', 'run.sh'), join(source, 'bin', 'run-again.sh'));
  makeDirectory(join(source, 'private'), 0o700);
  writeFile(join(source, 'private', 'notes.txt'), 'secret notes\n', 0o640);
  mkdirSync(join(source, 'private', 'deep', 'er'), { recursive: true });
  chmodSync(join(source, 'private', 'deep'), 0o750);
  chmodSync(join(source, 'private', 'deep', 'er'), 0o711);
  writeFile(join(source, 'private', 'deep', 'er', 'data.bin'), binaryContent, 0o644);
  makeDirectory(join(source, 'shared'), 0o2775);
  writeFile(join(source, 'shared', 'group-writable'), 'team\n', 0o664);
  writeFile(join(source, 'shared', 'world-writable'), 'anyone\n', 0o666);
  makeDirectory(join(source, 'empty'), 0o750);
  writeFile(join(source, '.hidden'), 'dotfile\n', 0o600);
  writeFile(join(source, '..double-dot'), 'two dots\n', 0o644);
  writeFile(join(source, '-looks-like-an-option'), 'dash\n', 0o644);
  writeFile(join(source, 'name with spaces'), 'spaces\n', 0o644);
  writeFile(join(source, '*'), 'a star\n', 0o644);
  writeFile(join(source, 'empty-file'), '', 0o400);
  const fifo = spawnSync('mkfifo', ['-m', '0620', join(source, 'pipe')]);
  expect(fifo.status, 'mkfifo').toBe(0);
  const past = new Date('2021-03-04T05:06:07Z');
  utimesSync(join(source, 'private', 'notes.txt'), past, past);
  utimesSync(join(source, 'bin', 'run.sh'), past, past);
}

type EntryType = 'file' | 'directory' | 'symlink' | 'fifo' | 'other';

interface Entry {
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  mtimeSeconds: number;
  content?: string;
  link?: string;
}

function entryType(stats: Stats): EntryType {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isDirectory()) return 'directory';
  if (stats.isFile()) return 'file';
  if (stats.isFIFO()) return 'fifo';
  return 'other';
}

/** Every entry below root (not root itself), by relative path, never following symlinks. */
function snapshot(root: string, options: { exclude?: string[] } = {}): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const visit = (directory: string, prefix: string): void => {
    for (const name of readdirSync(directory).sort()) {
      const relative = prefix ? `${prefix}/${name}` : name;
      if (options.exclude?.includes(relative)) continue;
      const path = join(directory, name);
      const stats = lstatSync(path);
      const entry: Entry = {
        type: entryType(stats),
        mode: stats.mode & 0o7777,
        uid: stats.uid,
        gid: stats.gid,
        ino: stats.ino,
        mtimeSeconds: Math.floor(stats.mtimeMs / 1000),
      };
      if (entry.type === 'file') entry.content = readFileSync(path).toString('base64');
      if (entry.type === 'symlink') entry.link = readlinkSync(path);
      entries.set(relative, entry);
      if (entry.type === 'directory') visit(path, relative);
    }
  };
  visit(root, '');
  return entries;
}

/** What a copy must reproduce exactly: type, mode, content, symlink target. */
function shape(entries: Map<string, Entry>): Record<string, { type: EntryType; mode: string; content?: string; link?: string }> {
  const result: Record<string, { type: EntryType; mode: string; content?: string; link?: string }> = {};
  for (const [path, entry] of entries) {
    result[path] = {
      type: entry.type,
      // Symlink modes are always 0777 on Linux and carry no meaning.
      mode: entry.type === 'symlink' ? 'symlink' : entry.mode.toString(8).padStart(4, '0'),
      ...(entry.content !== undefined ? { content: entry.content } : {}),
      ...(entry.link !== undefined ? { link: entry.link } : {}),
    };
  }
  return result;
}

function modeOf(path: string): string {
  return (lstatSync(path).mode & 0o7777).toString(8).padStart(4, '0');
}

/** The record's header fields (key=value lines before the manifest). */
function readSentinel(path: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '---') break;
    const at = line.indexOf('=');
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

function copiedEntryCount(output: string): number {
  const match = /: added (\d+), updated \d+, kept \d+, skipped \d+, \d+ bytes copied, \d+ ms\n$/.exec(output);
  if (!match?.[1]) throw new Error(`no entry count in: ${output}`);
  return Number(match[1]);
}

function lchownTree(root: string, uid: number, gid: number): void {
  lchownSync(root, uid, gid);
  for (const path of snapshot(root).keys()) lchownSync(join(root, path), uid, gid);
}

/** A fake `tar` that runs the real one but, when creating an archive, exits 3 after writing a complete archive. */
function failingCreateTar(realTar: string): string {
  const directory = makeTemporaryDirectory('seed-script-fake-tar-');
  writeFile(
    join(directory, 'tar'),
    `#!/bin/sh\ncase "$1" in\n  -c*) ${realTar} "$@"; exit 3 ;;\nesac\nexec ${realTar} "$@"\n`,
    0o755,
  );
  return directory;
}

afterEach(removeTemporaryDirectories);

describe('seed script source', () => {
  it('names the environment variables it reads', () => {
    expect(seedEnvironment).toEqual({
      source: 'SEED_SOURCE',
      target: 'SEED_TARGET',
      sentinel: 'SEED_SENTINEL',
      image: 'SEED_IMAGE',
      uid: 'SEED_UID',
      gid: 'SEED_GID',
      reseed: 'SEED_RESEED',
      imageOwned: 'SEED_IMAGE_OWNED',
      home: 'SEED_HOME',
    });
    for (const name of Object.values(seedEnvironment)) expect(seedScript).toContain(name);
  });

  it('is plain POSIX sh: no bashisms, no pipefail, cp only as GNU cp that never follows a symlink', () => {
    expect(seedScript.startsWith('set -eu\n')).toBe(true);
    for (const bashism of ['[[', 'pipefail', 'local ', '$(<', '<<<', '&>', '${!', 'source ', 'declare ']) {
      expect(seedScript, bashism).not.toContain(bashism);
    }
    // Other cps (busybox's) differ in what they keep: the first seed uses tar there.
    expect(seedScript.match(/\bcp (?!--version|exit)[^\n]*/g)).toEqual([expect.stringMatching(/^cp -R -P --preserve="\$copy_keep" -- /)]);
    expect(seedScript).toMatch(/if \[ "\$#" -gt 0 \] && \[ "\$gnu_cp" = true \]; then/);
    expect(seedScript).toContain('chown -R -h');
    expect(seedScript).toContain('umask 0');
  });

  it('parses with dash', () => {
    const result = spawnSync('/bin/sh', ['-n', '-c', seedScript], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
  });

  for (const variant of variants.filter((candidate) => candidate.busybox)) {
    it.skipIf(!variant.available)(`parses with ${variant.label}`, () => {
      const result = spawnSync(variant.command, [...variant.args, '-n', '-c', seedScript], { encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
    });
  }
});

for (const variant of variants) {
  describe.skipIf(!variant.available)(`seed script under ${variant.label}`, () => {
    let realTar = 'tar';

    beforeAll(() => {
      if (variant.busybox) {
        // Busybox applets first in PATH (the harness made the directory), so that even `exec tar` runs busybox tar.
        realTar = `${variant.command} tar`;
        const probe = spawnSync(variant.command, ['sh', '-c', 'command -v tar; tar --help 2>&1'], {
          env: { PATH: `${variant.binDir ?? ''}:${process.env.PATH ?? ''}` },
          encoding: 'utf8',
        });
        expect(probe.stdout).toContain('BusyBox');
      } else {
        realTar = spawnSync('/bin/sh', ['-c', 'command -v tar'], { encoding: 'utf8' }).stdout.trim();
        expect(realTar).toMatch(/^\//);
      }
    });

    it('copies nested files and directories with exact content and modes, then writes the sentinel', () => {
      const { source, target, sentinel, env } = fixture();
      populateTree(source);
      const before = snapshot(source);

      const result = runSeed(variant, env);

      expect(result.status, describeRun(result)).toBe(0);
      const copied = snapshot(target, { exclude: [sentinelName] });
      expect(shape(copied)).toEqual(shape(before));
      expect(modeOf(join(target, 'private'))).toBe('0700');
      expect(modeOf(join(target, 'bin', 'run.sh'))).toBe('0755');
      expect(modeOf(join(target, 'private', 'notes.txt'))).toBe('0640');
      expect(modeOf(join(target, 'shared'))).toBe('2775');
      expect(readFileSync(join(target, 'private', 'deep', 'er', 'data.bin')).equals(binaryContent)).toBe(true);
      // Hard links stay hard links, modification times are kept.
      expect(copied.get('bin/run.sh')?.ino).toBe(copied.get('bin/run-again.sh')?.ino);
      expect(copied.get('bin/run.sh')?.mtimeSeconds).toBe(before.get('bin/run.sh')?.mtimeSeconds);
      expect(copied.get('private/notes.txt')?.mtimeSeconds).toBe(Date.parse('2021-03-04T05:06:07Z') / 1000);

      const recorded = readSentinel(sentinel);
      expect(recorded.image).toBe(image);
      expect(recorded['seeded-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(recorded.source).toBe(source);
      expect(recorded.entries).toBe(String(before.size));
      expect(existsSync(`${sentinel}.tmp`)).toBe(false);

      const lines = result.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(
        'sandbox-storage seed: 1 special files (FIFOs, sockets, devices) or names with a newline: copied by the first seed only, never merged',
      );
      expect(result.stdout).toMatch(
        /\nsandbox-storage seed: first seed of volume at .* from image .*: added \d+, updated 0, kept 0, skipped 0, \d+ bytes copied, \d+ ms\n$/,
      );
      expect(copiedEntryCount(result.stdout)).toBe(before.size);
      expect(result.stderr).toBe('');
    });

    it('does nothing when the sentinel exists: user changes and deletions survive a rerun', () => {
      const { source, target, sentinel, env } = fixture();
      populateTree(source);
      expect(runSeed(variant, env).status).toBe(0);
      const sentinelContent = readFileSync(sentinel, 'utf8');

      writeFileSync(join(target, 'private', 'notes.txt'), 'edited by the user\n');
      rmSync(join(target, 'shared', 'group-writable'));
      rmSync(join(target, 'bin'), { recursive: true });
      writeFileSync(join(target, 'user-file'), 'mine\n');
      writeFileSync(join(source, 'new-in-image'), 'new\n');

      const rerun = runSeed(variant, env);

      expect(rerun.status, describeRun(rerun)).toBe(0);
      expect(rerun.stdout).toMatch(
        /^sandbox-storage seed: up to date: volume at .* was seeded from image .*: added 0, updated 0, kept 0, skipped 0, 0 bytes copied, \d+ ms\n$/,
      );
      expect(readFileSync(join(target, 'private', 'notes.txt'), 'utf8')).toBe('edited by the user\n');
      expect(existsSync(join(target, 'shared', 'group-writable'))).toBe(false);
      expect(existsSync(join(target, 'bin'))).toBe(false);
      expect(readFileSync(join(target, 'user-file'), 'utf8')).toBe('mine\n');
      expect(existsSync(join(target, 'new-in-image'))).toBe(false);
      expect(readFileSync(sentinel, 'utf8')).toBe(sentinelContent);
    });

    it('treats anything at the sentinel path as seeded, even a dangling symlink or a directory', () => {
      const { source, target, sentinel, env } = fixture();
      populateTree(source);
      symlinkSync('/nonexistent', sentinel);
      const result = runSeed(variant, env);
      expect(result.status, describeRun(result)).toBe(0);
      expect(result.stdout).toContain('is not a regular file: the volume counts as seeded and is left alone');
      expect(readdirSync(target)).toEqual([sentinelName]);

      rmSync(sentinel);
      mkdirSync(sentinel);
      expect(runSeed(variant, env).stdout).toContain('is not a regular file');
      expect(readdirSync(target)).toEqual([sentinelName]);
    });

    it('a volume with files but no record is adopted, not overwritten: what it has is kept, the rest is copied', () => {
      const { source, target, sentinel, env } = fixture();
      populateTree(source);
      // Files the volume already had (a user's, or what an older seeder version left when killed mid-copy: this
      // version stages the first copy and moves only complete entries into place), a temp record, no record.
      mkdirSync(join(target, 'private', 'deep', 'er'), { recursive: true });
      writeFile(join(target, 'private', 'deep', 'er', 'data.bin'), binaryContent.subarray(0, 10), 0o600);
      writeFile(join(target, 'private', 'notes.txt'), 'my notes', 0o600);
      writeFile(join(target, 'bin-placeholder'), 'x', 0o644);
      mkdirSync(join(target, 'bin'));
      writeFile(join(target, 'bin', 'run.sh'), '#!/bin/sh\necho mine', 0o700);
      symlinkSync('loop', join(target, 'loop'));
      writeFile(`${sentinel}.tmp`, 'image=half-written', 0o644);

      const result = runSeed(variant, env);

      expect(result.status, describeRun(result)).toBe(0);
      expect(readFileSync(join(target, 'private', 'deep', 'er', 'data.bin')).equals(binaryContent.subarray(0, 10))).toBe(true);
      expect(readFileSync(join(target, 'private', 'notes.txt'), 'utf8')).toBe('my notes');
      expect(readFileSync(join(target, 'bin', 'run.sh'), 'utf8')).toBe('#!/bin/sh\necho mine');
      expect(readlinkSync(join(target, 'loop'))).toBe('loop');
      expect(readFileSync(join(target, 'bin-placeholder'), 'utf8')).toBe('x');
      // Everything the volume lacked (special files aside: only a first seed's tar stream copies those) is copied.
      const image = shape(snapshot(source));
      const copied = shape(snapshot(target));
      for (const path of ['bin/run-again.sh', 'shared', 'shared/group-writable', 'empty', '.hidden', '*', 'name with spaces', 'empty-file']) {
        expect(copied[path], path).toEqual(image[path]);
      }
      expect(copied.pipe).toBeUndefined();
      expect(result.stdout).toContain('adopted volume at');
      expect(readSentinel(sentinel).image).toBe(env.SEED_IMAGE);
      expect(existsSync(`${sentinel}.tmp`)).toBe(false);
    });

    describe('failures exit non-zero and leave no sentinel', () => {
      it('when the target is not a directory (its parent is a regular file)', () => {
        const { root, source, env } = fixture();
        populateTree(source);
        writeFileSync(join(root, 'plain-file'), 'not a directory\n');
        const target = join(root, 'plain-file', 'volume');

        const result = runSeed(variant, { ...env, SEED_TARGET: target });

        expect(result.status, describeRun(result)).not.toBe(0);
        expect(result.stderr).toContain(`target ${target} is not a directory`);
        expect(readFileSync(join(root, 'plain-file'), 'utf8')).toBe('not a directory\n');
      });

      // GNU cp copies in one process: a failure it reports keeps everything staged, as a failing tar does.
      itWhere(!variant.busybox)('when cp fails after copying: nothing is moved into place, no sentinel', () => {
        const { source, target, sentinel, env } = fixture();
        populateTree(source);
        const fakeCpDirectory = makeTemporaryDirectory('seed-script-fake-cp-');
        const realCp = spawnSync('/bin/sh', ['-c', 'command -v cp'], { encoding: 'utf8' }).stdout.trim();
        writeFile(join(fakeCpDirectory, 'cp'), `#!/bin/sh\ncase "$1" in --version) exec ${realCp} "$@" ;; esac\n${realCp} "$@"; exit 4\n`, 0o755);

        expectStagedFailureThenSeed(variant, runSeed(variant, env, { pathPrefix: [fakeCpDirectory] }), '(cp exit 4)', { target, sentinel, env });
      });

      // The fake tar comes first in PATH; a shell that runs its own applets first never calls it. With GNU tools
      // the first seed copies with cp (above).
      itWhere(variant.busybox && !variant.prefersApplets)('when only the creating tar fails: its status is checked although the pipeline as a whole succeeds', () => {
        const { source, target, sentinel, env } = fixture();
        populateTree(source);
        const fakeTarDirectory = failingCreateTar(realTar);

        // The extracting side did receive the complete archive, staged: nothing may have been moved into place.
        const result = runSeed(variant, env, { pathPrefix: [fakeTarDirectory] });
        expectStagedFailureThenSeed(variant, result, '(tar create exit 3, tar extract exit 0)', { target, sentinel, env });
      });

      it('when a source file cannot be read by the (non-root) user running the script', () => {
        const { source, target, sentinel, env } = fixture();
        populateTree(source);
        writeFile(join(source, 'unreadable'), 'root only\n', isRoot ? 0o600 : 0o000);
        if (isRoot) {
          lchownTree(source, nobody, nobody);
          lchownSync(join(source, 'unreadable'), 0, 0);
          lchownSync(target, nobody, nobody);
        }

        const result = runSeed(variant, env, isRoot ? { as: nobody } : {});

        expect(result.status, describeRun(result)).not.toBe(0);
        // The reader of the image fails the run before anything is moved into place, and the scratch space goes with it.
        expect(result.stderr).toContain(`sandbox-storage seed: error: cannot read files of ${source}:`);
        expect(result.stderr).toContain('unreadable');
        expect(existsSync(sentinel)).toBe(false);
        expect(readdirSync(target)).toEqual([]);
      });

      it.each([
        ['SEED_TARGET is missing', { SEED_TARGET: undefined }, 'SEED_TARGET must be an absolute path'],
        ['SEED_SOURCE is relative', { SEED_SOURCE: 'sandbox' }, 'SEED_SOURCE must be an absolute path'],
        ['SEED_SENTINEL contains a slash', { SEED_SENTINEL: '../escape' }, 'SEED_SENTINEL must be a plain file name'],
        ['SEED_SENTINEL is empty', { SEED_SENTINEL: '' }, 'SEED_SENTINEL must be a plain file name'],
        ['SEED_UID is not numeric', { SEED_UID: 'agent' }, 'SEED_UID must be a numeric user id'],
        ['SEED_GID is not numeric', { SEED_GID: '-1' }, 'SEED_GID must be a numeric group id'],
      ])('when %s', (_name, override: Record<string, string | undefined>, message) => {
        const { root, source, target, env } = fixture();
        populateTree(source);
        const result = runSeed(variant, { ...env, ...override });
        expect(result.status, describeRun(result)).not.toBe(0);
        expect(result.stderr).toContain(message);
        expect(readdirSync(target)).toEqual([]);
        expect(readdirSync(root).sort()).toEqual(['image', 'volume']);
      });
    });

    it('copies symlink loops and escaping links as symlinks with the same targets, following none of them', () => {
      const { root, source, target, sentinel, env } = fixture();
      const outside = join(root, 'image', 'outside');
      mkdirSync(outside);
      writeFileSync(join(outside, 'secret.txt'), 'outside the sandbox\n');
      writeFile(join(source, 'regular'), 'regular\n', 0o644);
      mkdirSync(join(source, 'nested'));
      const links: Record<string, string> = {
        loop: 'loop',
        a: 'b',
        b: 'a',
        self: '.',
        passwd: '/etc/passwd',
        etc: '/etc',
        escape: '../outside/secret.txt',
        'escape-dir': '../outside',
        dangling: 'does/not/exist',
        'nested/up': '..',
        'nested/root': '/',
        'nested/chain': '../self/self/nested',
      };
      for (const [path, linkTarget] of Object.entries(links)) symlinkSync(linkTarget, join(source, path));

      const result = runSeed(variant, env);

      expect(result.status, describeRun(result)).toBe(0);
      const copied = snapshot(target, { exclude: [sentinelName] });
      expect([...copied.keys()].sort()).toEqual([...Object.keys(links), 'nested', 'regular'].sort());
      for (const [path, linkTarget] of Object.entries(links)) {
        expect(lstatSync(join(target, path)).isSymbolicLink(), path).toBe(true);
        expect(readlinkSync(join(target, path)), path).toBe(linkTarget);
      }
      expect(shape(copied)).toEqual(shape(snapshot(source)));
      expect(snapshot(outside).size).toBe(1);
      expect(readdirSync(root).sort()).toEqual(['image', 'volume']);
      expect(readdirSync(join(root, 'image')).sort()).toEqual(['outside', 'sandbox']);
      expect(existsSync(sentinel)).toBe(true);
      expect(copiedEntryCount(result.stdout)).toBe(copied.size);
    });

    it('keeps hard links between different top-level entries (GNU tools copy them in two halves)', () => {
      const { source, target, env } = fixture();
      for (const directory of ['a', 'b', 'c']) makeDirectory(join(source, directory), 0o755);
      writeFile(join(source, 'a', 'shared'), 'one inode\n', 0o640);
      linkSync(join(source, 'a', 'shared'), join(source, 'b', 'shared-too'));
      linkSync(join(source, 'a', 'shared'), join(source, 'top-level'));
      writeFile(join(source, 'c', 'alone'), 'one inode\n', 0o640);
      // A link to a file under the record's name (never copied) links nothing.
      writeFile(join(source, sentinelName), 'reserved\n', 0o644);
      linkSync(join(source, sentinelName), join(source, 'c', 'reserved-link'));

      const result = runSeed(variant, env);

      expect(result.status, describeRun(result)).toBe(0);
      const inode = (path: string) => lstatSync(join(target, path)).ino;
      expect(inode('b/shared-too')).toBe(inode('a/shared'));
      expect(inode('top-level')).toBe(inode('a/shared'));
      expect(lstatSync(join(target, 'a', 'shared')).nlink).toBe(3);
      expect(inode('c/alone')).not.toBe(inode('a/shared'));
      expect(lstatSync(join(target, 'c', 'reserved-link')).nlink).toBe(1);
      expect(readFileSync(join(target, 'c', 'reserved-link'), 'utf8')).toBe('reserved\n');
      expect(readdirSync(target).sort()).toEqual([sentinelName, 'a', 'b', 'c', 'top-level'].sort());
    });

    it('records each symlink by the digest of its target, whatever the target holds: a newline in it forges no manifest line', () => {
      const { source, target, sentinel, env } = fixture();
      writeFile(join(source, 'regular'), 'regular\n', 0o644);
      const links: Record<string, string> = {
        plain: 'regular',
        spaced: '../a target with  spaces\tand a tab',
        backslash: 'back\\slash',
        // Targets that look like a manifest line and like a line of the listing the manifest is made from.
        'forged-manifest': 'x\nf\t644\t1\tdeadbeef\tforged',
        'forged-listing': 'y\nf 644 1 ./fake\nL 777 1 ./fake-link\nz',
      };
      for (const [path, linkTarget] of Object.entries(links)) symlinkSync(linkTarget, join(source, path));

      const result = runSeed(variant, env);

      expect(result.status, describeRun(result)).toBe(0);
      const [header, body] = readFileSync(sentinel, 'utf8').split('\n---\n') as [string, string];
      const manifest = body.split('\n').filter(Boolean);
      // GNU tools: cksum's CRC; busybox (no cksum applet): SHA-256.
      expect(header).toContain(variant.busybox ? '\nhash=sha256sum' : '\nhash=cksum');
      const digest = (text: string) => (variant.busybox ? createHash('sha256').update(text).digest('hex') : posixCksum(text));
      const entries = new Map(manifest.map((line) => {
        const [type, , , hash, ...path] = line.split('\t');
        return [path.join('\t'), { type, hash }];
      }));
      expect([...entries.keys()].sort()).toEqual(['regular', ...Object.keys(links)].sort());
      for (const [path, linkTarget] of Object.entries(links)) {
        expect(entries.get(path), path).toEqual({ type: 'l', hash: digest(linkTarget) });
        expect(readlinkSync(join(target, path)), path).toBe(linkTarget);
      }

      // The volume's links (read with readlink on a merge) hash like the image's: nothing counts as changed.
      const merge = runSeed(variant, { ...env, SEED_IMAGE: `${image}-next` });
      expect(merge.status, describeRun(merge)).toBe(0);
      expect(merge.stdout).toMatch(/\(was [^;]+; 6 unchanged\): added 0, updated 0, kept 0, skipped 0,/);
    });

    it("an image with its own lost+found next to the file system's: merged into it, not a failure", () => {
      const { source, target, sentinel, env } = fixture();
      populateTree(source);
      makeDirectory(join(source, 'lost+found'), 0o755);
      writeFile(join(source, 'lost+found', 'from-the-image'), 'image\n', 0o644);
      makeDirectory(join(target, 'lost+found'), 0o700);

      const result = runSeed(variant, env);

      expect(result.status, describeRun(result)).toBe(0);
      expect(modeOf(join(target, 'lost+found'))).toBe('0700');
      expect(readFileSync(join(target, 'lost+found', 'from-the-image'), 'utf8')).toBe('image\n');
      expect(readFileSync(join(target, 'bin', 'run.sh'), 'utf8')).toBe('#!/bin/sh\necho hello from the sandbox\n');
      expect(existsSync(sentinel)).toBe(true);
    });

    it('never copies image entries named like the sentinel (top level), so they cannot pose as it', () => {
      const { source, target, sentinel, env } = fixture();
      populateTree(source);
      writeFile(join(source, sentinelName), 'image=forged\n', 0o644);
      writeFile(join(source, `${sentinelName}.tmp`), 'forged temp\n', 0o644);
      mkdirSync(join(source, 'sub'));
      writeFile(join(source, 'sub', sentinelName), 'only the top level is reserved\n', 0o644);

      const result = runSeed(variant, env);

      expect(result.status, describeRun(result)).toBe(0);
      expect(result.stdout).toContain(`not copying ${source}/${sentinelName}: the name is reserved for the seed record`);
      expect(readSentinel(sentinel).image).toBe(image);
      expect(existsSync(`${sentinel}.tmp`)).toBe(false);
      expect(readFileSync(join(target, 'sub', sentinelName), 'utf8')).toBe('only the top level is reserved\n');
      expect(shape(snapshot(target, { exclude: [sentinelName] }))).toEqual(
        shape(snapshot(source, { exclude: [sentinelName, `${sentinelName}.tmp`] })),
      );
    });

    describe.skipIf(!isRoot)('ownership when run as root', () => {
      function populateOwnedTree(source: string): void {
        populateTree(source);
        symlinkSync('bin/run.sh', join(source, 'run-link'));
        symlinkSync('/etc', join(source, 'private', 'etc-link'));
        lchownSync(join(source, 'private'), 1001, 1002);
        lchownSync(join(source, 'private', 'notes.txt'), 1003, 1004);
        lchownSync(join(source, 'bin', 'run.sh'), 1005, 1006);
        lchownSync(join(source, 'run-link'), 1007, 1008);
        lchownSync(join(source, 'private', 'etc-link'), 1009, 1010);
      }

      it('chowns every copied entry, symlinks included, and the volume root to SEED_UID:SEED_GID', () => {
        const { source, target, sentinel, env } = fixture();
        populateOwnedTree(source);
        // A directory the volume already had (e.g. ext4's lost+found) is not part of the copy and keeps its owner.
        makeDirectory(join(target, 'lost+found'), 0o700);
        const etcOwner = lstatSync('/etc');

        const result = runSeed(variant, { ...env, SEED_UID: '1234', SEED_GID: '2345' });

        expect(result.status, describeRun(result)).toBe(0);
        const copied = snapshot(target, { exclude: ['lost+found'] });
        expect(copied.size).toBe(snapshot(source).size + 1);
        for (const [path, entry] of copied) expect({ path, uid: entry.uid, gid: entry.gid }).toEqual({ path, uid: 1234, gid: 2345 });
        expect(lstatSync(target).uid).toBe(1234);
        expect(lstatSync(target).gid).toBe(2345);
        expect(lstatSync(sentinel).uid).toBe(1234);
        expect(lstatSync(join(target, 'lost+found')).uid).toBe(0);
        // Symlinks were chowned themselves, not followed.
        expect(lstatSync('/etc').uid).toBe(etcOwner.uid);
        expect(lstatSync('/etc').gid).toBe(etcOwner.gid);
        // Modes are untouched by the chown (a setgid directory stays setgid).
        expect(modeOf(join(target, 'shared'))).toBe('2775');
        expect(modeOf(join(target, 'private'))).toBe('0700');
      });

      it('with only SEED_UID set, changes the owner and keeps the groups of the image', () => {
        const { source, target, env } = fixture();
        populateOwnedTree(source);
        const result = runSeed(variant, { ...env, SEED_UID: '1234' });
        expect(result.status, describeRun(result)).toBe(0);
        const copied = snapshot(target, { exclude: [sentinelName] });
        for (const [path, entry] of copied) expect({ path, uid: entry.uid }).toEqual({ path, uid: 1234 });
        expect(copied.get('private')?.gid).toBe(1002);
        expect(copied.get('private/notes.txt')?.gid).toBe(1004);
      });

      it('without SEED_UID, keeps the owners of the image files', () => {
        const { source, target, env } = fixture();
        populateOwnedTree(source);
        const sourceEntries = snapshot(source);

        const result = runSeed(variant, env);

        expect(result.status, describeRun(result)).toBe(0);
        const copied = snapshot(target, { exclude: [sentinelName] });
        expect(copied.size).toBe(sourceEntries.size);
        for (const [path, entry] of sourceEntries) {
          const copy = copied.get(path);
          if (entry.type === 'symlink' && !variant.restoresSymlinkOwners) {
            // busybox tar does not lchown the symlinks it creates: they belong to the extracting user (root).
            expect({ path, uid: copy?.uid, gid: copy?.gid }).toEqual({ path, uid: 0, gid: 0 });
          } else {
            expect({ path, uid: copy?.uid, gid: copy?.gid }).toEqual({ path, uid: entry.uid, gid: entry.gid });
          }
        }
        expect(copied.get('private/notes.txt')?.uid).toBe(1003);
      });
    });

    describe('as a non-root user', () => {
      const as = isRoot ? { as: nobody } : {};
      const runner = isRoot ? nobody : (process.getuid?.() ?? -1);

      function prepare(source: string, target: string): void {
        if (!isRoot) return;
        lchownTree(source, nobody, nobody);
        lchownSync(target, nobody, nobody);
      }

      /** The source's shape as a non-root copy reproduces it with this variant's tar. */
      function expectedShape(source: string): ReturnType<typeof shape> {
        const expected = shape(snapshot(source));
        const shared = expected.shared;
        if (!variant.keepsDirectorySpecialBitsAsNonRoot && shared) shared.mode = '0775'; // busybox drops the setgid bit
        return expected;
      }

      // Image files belong to root, the restricted seeder is the sandbox user: a copy that tried to keep the owners
      // (GNU cp --preserve=ownership) would drop these bits.
      it.runIf(isRoot)("keeps setuid, setgid and sticky bits of an image whose files are root's", () => {
        const { source, target, env } = fixture();
        makeDirectory(join(source, 'team'), 0o2775);
        writeFile(join(source, 'team', 'tool'), '#!/bin/sh\n', 0o4755);
        makeDirectory(join(source, 'drop'), 0o1777);
        writeFile(join(source, 'other'), 'other\n', 0o644);
        lchownSync(target, nobody, nobody);

        const result = runSeed(variant, env, as);

        expect(result.status, describeRun(result)).toBe(0);
        expect(modeOf(join(target, 'team'))).toBe(variant.keepsDirectorySpecialBitsAsNonRoot ? '2775' : '0775');
        expect(modeOf(join(target, 'team', 'tool'))).toBe(variant.keepsDirectorySpecialBitsAsNonRoot ? '4755' : '0755'); // busybox tar drops it too
        expect(modeOf(join(target, 'drop'))).toBe('1777');
        expect(lstatSync(join(target, 'team', 'tool')).uid).toBe(runner);
      });

      it('keeps modes exactly although the process umask would mask them, and does not try to chown', () => {
        const { source, target, sentinel, env } = fixture();
        populateTree(source);
        prepare(source, target);

        const result = runSeed(variant, { ...env, SEED_UID: '1234', SEED_GID: '2345' }, as);

        expect(result.status, describeRun(result)).toBe(0);
        expect(result.stdout).toContain(`running as uid ${runner}, not root: the copied files belong to that user, not to 1234:2345`);
        const copied = snapshot(target, { exclude: [sentinelName] });
        expect(shape(copied)).toEqual(expectedShape(source));
        expect(modeOf(join(target, 'shared'))).toBe(variant.keepsDirectorySpecialBitsAsNonRoot ? '2775' : '0775');
        expect(modeOf(join(target, 'shared', 'world-writable'))).toBe('0666');
        expect(modeOf(join(target, 'shared', 'group-writable'))).toBe('0664');
        expect(modeOf(join(target, 'private'))).toBe('0700');
        for (const [path, entry] of copied) expect({ path, uid: entry.uid }).toEqual({ path, uid: runner });
        expect(lstatSync(sentinel).uid).toBe(runner);
      });

      it('leaves the metadata of the volume root alone (a mount point it does not own)', () => {
        const { source, target, sentinel, env } = fixture();
        populateTree(source);
        prepare(source, target);
        if (isRoot) {
          // Like a volume root prepared for fsGroup: owned by root, group-writable, setgid.
          lchownSync(target, 0, nobody);
          chmodSync(target, 0o2775);
        }
        const rootBefore = lstatSync(target);

        const result = runSeed(variant, env, as);

        expect(result.status, describeRun(result)).toBe(0);
        expect(lstatSync(target).uid).toBe(rootBefore.uid);
        expect(modeOf(target)).toBe((rootBefore.mode & 0o7777).toString(8).padStart(4, '0'));
        expect(existsSync(sentinel)).toBe(true);
      });

      it(
        variant.fillsReadOnlyDirectoriesAsNonRoot
          ? 'fills read-only (0555) directories'
          : 'cannot fill read-only (0555) directories (busybox tar quirk) and fails without a sentinel',
        () => {
          const { source, target, sentinel, env } = fixture();
          populateTree(source);
          makeDirectory(join(source, 'read-only'), 0o755);
          writeFile(join(source, 'read-only', 'inside'), 'inside\n', 0o444);
          chmodSync(join(source, 'read-only'), 0o555);
          prepare(source, target);

          const result = runSeed(variant, env, as);

          if (variant.fillsReadOnlyDirectoriesAsNonRoot) {
            expect(result.status, describeRun(result)).toBe(0);
            expect(shape(snapshot(target, { exclude: [sentinelName] }))).toEqual(expectedShape(source));
            expect(modeOf(join(target, 'read-only'))).toBe('0555');
          } else {
            expect(result.status, describeRun(result)).not.toBe(0);
            expect(result.stderr).toMatch(/tar extract exit [1-9]/);
            expect(existsSync(sentinel)).toBe(false);
          }
        },
      );
    });

    describe('nothing to copy', () => {
      it('marks the volume as seeded when the source directory does not exist', () => {
        const { root, target, sentinel, env } = fixture();
        const missing = join(root, 'image', 'no-such-dir');

        const result = runSeed(variant, { ...env, SEED_SOURCE: missing });

        expect(result.status, describeRun(result)).toBe(0);
        expect(result.stdout).toMatch(
          new RegExp(
            `^sandbox-storage seed: ${missing} does not exist in image ${image.replaceAll('.', '\\.')} \\(or is not a directory\\): nothing to seed\n` +
              `sandbox-storage seed: first seed of volume at ${target} from image .*: added 0, updated 0, kept 0, skipped 0, 0 bytes copied, \\d+ ms\n$`,
          ),
        );
        expect(readdirSync(target)).toEqual([sentinelName]);
        expect(readSentinel(sentinel)).toMatchObject({ image, source: missing, entries: '0' });

        const rerun = runSeed(variant, { ...env, SEED_SOURCE: missing });
        expect(rerun.stdout).toContain('up to date');
      });

      it('marks the volume as seeded when the source directory is empty', () => {
        const { target, sentinel, env } = fixture();
        const result = runSeed(variant, env);
        expect(result.status, describeRun(result)).toBe(0);
        expect(result.stdout).toContain(': added 0, updated 0, kept 0, skipped 0, 0 bytes copied');
        expect(readdirSync(target)).toEqual([sentinelName]);
        expect(readSentinel(sentinel).entries).toBe('0');
      });

      it.skipIf(!isRoot)('still hands the volume root to SEED_UID:SEED_GID, so the sandbox user can write to it', () => {
        const { root, target, sentinel, env } = fixture();
        const result = runSeed(variant, { ...env, SEED_SOURCE: join(root, 'missing'), SEED_UID: '1234', SEED_GID: '2345' });
        expect(result.status, describeRun(result)).toBe(0);
        expect(lstatSync(target).uid).toBe(1234);
        expect(lstatSync(target).gid).toBe(2345);
        expect(lstatSync(sentinel).uid).toBe(1234);
      });
    });
  });
}
