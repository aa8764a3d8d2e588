// The home directory (SEED_HOME): the seeded tree lives in a directory of the volume that the seeder makes and
// checks right before the sandbox starts, and that the sandbox container mounts as its subPath. Run for real under
// dash, busybox and a static busybox: a fresh volume, the earlier layout (the user's files at the volume root)
// moved in without losing or overwriting anything, killed and resumed, what an attacker plants at the home name,
// a non-root seeder on a kubelet-made fsGroup root, and the report for the termination message.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeRun, missingShellVariants, requireAllShellsVariable, runSeedScript, seedShells, type SeedRunOptions } from '../harness/seed-runner.ts';
import { buildTree, readTree, removedAfterEachTest, type Tree } from '../harness/seed-trees.ts';

const recordName = '.sandbox-storage-seeded';
const homeName = '.sandbox-storage-home';
const isRoot = process.getuid?.() === 0;
const shells = seedShells();
afterAll(() => shells.forEach((shell) => shell.dispose()));

const temporaryDirectories = removedAfterEachTest();

const imageV1: Tree = {
  'README.md': { file: 'v1\n' },
  'notes.txt': { file: 'v1 notes\n' },
  bin: { dir: 0o755 },
  'bin/run': { file: '#!/bin/sh\n', mode: 0o755 },
  private: { dir: 0o700 },
  'private/key': { file: 'k\n', mode: 0o600 },
  readonly: { dir: 0o555 },
  'readonly/fixed.txt': { file: 'fixed\n', mode: 0o444 },
  link: { link: 'README.md' },
};
const imageV2: Tree = { ...imageV1, 'README.md': { file: 'v2\n' }, 'notes.txt': { file: 'v2 notes\n' }, 'added.txt': { file: 'new in v2\n' } };

interface Setup {
  root: string;
  volume: string;
  home: string;
  outside: string;
  terminationLog: string;
  env(version: 1 | 2, extra?: Record<string, string>): Record<string, string>;
}

function setup(): Setup {
  const root = mkdtempSync(join(tmpdir(), 'seed-home-'));
  chmodSync(root, 0o755);
  temporaryDirectories.push(root);
  const volume = join(root, 'volume');
  mkdirSync(volume);
  buildTree(join(root, 'image-1', 'sandbox'), imageV1);
  buildTree(join(root, 'image-2', 'sandbox'), imageV2);
  chmodSync(join(root, 'image-1', 'sandbox'), 0o750);
  chmodSync(join(root, 'image-2', 'sandbox'), 0o750);
  // Another tenant's directory on the same filesystem: nothing may ever be written there.
  const outside = join(root, 'other-tenant');
  buildTree(outside, { 'secret.txt': { file: 'not yours\n' } });
  const terminationLog = join(root, 'termination-log');
  writeFileSync(terminationLog, '');
  return {
    root,
    volume,
    home: join(volume, homeName),
    outside,
    terminationLog,
    env: (version, extra = {}) => ({
      SEED_SOURCE: join(root, `image-${version}`, 'sandbox'),
      SEED_TARGET: volume,
      SEED_SENTINEL: recordName,
      SEED_IMAGE: `registry.example/sandbox:${version}`,
      SEED_HOME: homeName,
      SEED_TERMINATION_LOG: terminationLog,
      ...extra,
    }),
  };
}

const withoutRecord = (path: string) => path.startsWith(recordName);

/** The earlier layout: seeded by the previous version (no SEED_HOME), the record and the user's files at the root. */
function oldLayout(shell: (typeof shells)[number], s: Setup): void {
  const { SEED_HOME: _home, ...env } = s.env(1);
  const seeded = runSeedScript(shell, env);
  expect(seeded.status, describeRun(seeded)).toBe(0);
  expect(existsSync(join(s.volume, recordName))).toBe(true);
  writeFileSync(join(s.volume, 'notes.txt'), 'my notes\n');
  writeFileSync(join(s.volume, 'mine.txt'), 'my own file\n');
  mkdirSync(join(s.volume, 'project'));
  writeFileSync(join(s.volume, 'project', 'main.c'), 'int main;\n');
  rmSync(join(s.volume, 'bin', 'run'));
  mkdirSync(join(s.volume, 'lost+found'), { mode: 0o700 });
}

const missing = missingShellVariants(shells);
if (process.env[requireAllShellsVariable] === '1' && missing.length > 0) {
  it('every shell variant is available', () => expect(missing).toEqual([]));
}

for (const shell of shells) {
  describe.skipIf(!shell.available)(`the home directory under ${shell.label}`, () => {
    it('a fresh volume: the image goes into the home directory (its mode the image\'s), the record stays outside it', () => {
      const s = setup();
      const result = runSeedScript(shell, s.env(1));
      expect(result.status, describeRun(result)).toBe(0);
      expect(readTree(s.home)).toEqual(readTree(join(s.root, 'image-1', 'sandbox')));
      expect((lstatSync(s.home).mode & 0o7777).toString(8)).toBe('750');
      expect(readdirSync(s.volume).sort()).toEqual([recordName, homeName].sort());
      // The same image again: nothing changes.
      const before = readTree(s.volume);
      const again = runSeedScript(shell, s.env(1));
      expect(again.status, describeRun(again)).toBe(0);
      expect(again.stdout).toContain('up to date');
      expect(readTree(s.volume)).toEqual(before);
      expect(readFileSync(s.terminationLog, 'utf8')).toBe('');
    });

    it('the earlier layout is moved in entry by entry: the user sees the same tree, lost+found and the record stay', () => {
      const s = setup();
      oldLayout(shell, s);
      const before = readTree(s.volume, (path) => withoutRecord(path) || path === 'lost+found');
      const rootMode = lstatSync(s.volume).mode & 0o7777;
      const result = runSeedScript(shell, s.env(1));
      expect(result.status, describeRun(result)).toBe(0);
      expect(result.stdout).toContain('up to date');
      expect(readTree(s.home)).toEqual(before);
      expect(lstatSync(s.home).mode & 0o7777).toBe(rootMode);
      expect(readdirSync(s.volume).sort()).toEqual([recordName, homeName, 'lost+found'].sort());
      expect(readFileSync(s.terminationLog, 'utf8')).toBe('');
    });

    it('the earlier layout and a new image: moved in, then merged by its record as before (user edits kept, deletions stay)', () => {
      const s = setup();
      oldLayout(shell, s);
      const result = runSeedScript(shell, s.env(2));
      expect(result.status, describeRun(result)).toBe(0);
      const home = readTree(s.home);
      expect(home['README.md']).toBe('file 0644 v2\n');
      expect(home['notes.txt']).toBe('file 0644 my notes\n');
      expect(home['notes.txt.sandbox-storage-new']).toBe('file 0644 v2 notes\n');
      expect(home['mine.txt']).toBe('file 0644 my own file\n');
      expect(home['project/main.c']).toBe('file 0644 int main;\n');
      expect(home['added.txt']).toBe('file 0644 new in v2\n');
      expect(home['bin/run']).toBeUndefined();
      expect(readFileSync(join(s.volume, recordName), 'utf8')).toContain('image=registry.example/sandbox:2');
      // The report for the Event: the file put beside the user's.
      expect(readFileSync(s.terminationLog, 'utf8')).toBe('sandbox-storage-seed-report 1\nbeside=1 unplaced=0 retype=0 moved=0\nbeside: notes.txt\n');
    });

    it('a name clash between the root and the home directory: nothing is overwritten, the root\'s goes in beside', () => {
      const s = setup();
      oldLayout(shell, s);
      mkdirSync(s.home);
      writeFileSync(join(s.home, 'mine.txt'), 'already in home\n');
      writeFileSync(join(s.home, 'mine.txt.sandbox-storage-root'), 'taken too\n');
      const result = runSeedScript(shell, s.env(1));
      expect(result.status, describeRun(result)).toBe(0);
      const home = readTree(s.home);
      expect(home['mine.txt']).toBe('file 0644 already in home\n');
      expect(home['mine.txt.sandbox-storage-root']).toBe('file 0644 taken too\n');
      expect(home['mine.txt.sandbox-storage-root.2']).toBe('file 0644 my own file\n');
      expect(result.stdout).toContain(`moved mine.txt from the volume root into ${homeName} as mine.txt.sandbox-storage-root.2`);
      expect(readFileSync(s.terminationLog, 'utf8')).toContain('moved=1\nmoved: mine.txt -> mine.txt.sandbox-storage-root.2\n');
    });

    it('killed at random times while moving the earlier layout in, a rerun ends with every file exactly once', () => {
      const s = setup();
      oldLayout(shell, s);
      for (let index = 0; index < 300; index++) writeFileSync(join(s.volume, `file-${index}.txt`), `${index}\n`);
      const before = readTree(s.volume, (path) => withoutRecord(path) || path === 'lost+found');
      for (const seconds of ['0.02', '0.05', '0.1', '0.2']) {
        runSeedScript(shell, s.env(1), { wrapper: ['timeout', '-s', 'KILL', seconds] });
      }
      const result = runSeedScript(shell, s.env(1));
      expect(result.status, describeRun(result)).toBe(0);
      expect(readTree(s.home)).toEqual(before);
      expect(readdirSync(s.volume).sort()).toEqual([recordName, homeName, 'lost+found'].sort());
    });

    for (const [what, plant] of [
      ['a symlink to another tenant\'s directory', (s: Setup) => symlinkSync(s.outside, s.home)],
      ['a relative symlink climbing out', (s: Setup) => symlinkSync('../other-tenant', s.home)],
      ['a dangling symlink', (s: Setup) => symlinkSync('/nonexistent/x', s.home)],
      ['a regular file', (s: Setup) => writeFileSync(s.home, 'a file at the home name\n')],
    ] as const) {
      it(`${what} at the home name is moved aside, never followed: the home directory is a real directory`, () => {
        const s = setup();
        const seeded = runSeedScript(shell, s.env(1));
        expect(seeded.status, describeRun(seeded)).toBe(0);
        rmSync(s.home, { recursive: true });
        plant(s);
        const planted = lstatSync(s.home).isSymbolicLink() ? `link -> ${readlinkSync(s.home)}` : readFileSync(s.home, 'utf8');
        const result = runSeedScript(shell, s.env(2));
        expect(result.status, describeRun(result)).toBe(0);
        expect(lstatSync(s.home).isDirectory()).toBe(true);
        expect(lstatSync(s.home).isSymbolicLink()).toBe(false);
        expect(readTree(s.outside)).toEqual({ 'secret.txt': 'file 0644 not yours\n' });
        // Kept, inside the home directory, where it reaches nothing (the sandbox resolves it in its own root).
        const aside = join(s.home, `${homeName}.displaced`);
        expect(lstatSync(aside).isSymbolicLink() ? `link -> ${readlinkSync(aside)}` : readFileSync(aside, 'utf8')).toBe(planted);
        expect(readFileSync(s.terminationLog, 'utf8')).toContain(`moved: ${homeName} -> ${homeName}.displaced\n`);
      });
    }

    it('SEED_HOME must be a plain name other than the record\'s', () => {
      for (const bad of ['../up', 'a/b', '..', recordName, `${recordName}.work`, 'lost+found']) {
        const s = setup();
        const result = runSeedScript(shell, s.env(1, { SEED_HOME: bad }));
        expect(result.status, bad).toBe(1);
        expect(result.stderr).toContain(`SEED_HOME must be a plain directory name other than the record's, got '${bad}'`);
        expect(readdirSync(s.volume)).toEqual([]);
      }
    });

    it('the report stays within kubelet\'s 4 KB, and is never written through a symlink or into a file that is not there', () => {
      const s = setup();
      const many: Tree = {};
      for (let index = 0; index < 200; index++) many[`file-with-a-rather-long-name-${'x'.repeat(60)}-${index}.txt`] = { file: 'v1\n' };
      buildTree(join(s.root, 'image-1', 'sandbox'), many);
      const seeded = runSeedScript(shell, s.env(1));
      expect(seeded.status, describeRun(seeded)).toBe(0);
      for (const name of Object.keys(many)) {
        writeFileSync(join(s.home, name), 'mine\n');
        writeFileSync(join(s.root, 'image-2', 'sandbox', name), 'v2\n');
      }
      const result = runSeedScript(shell, s.env(2));
      expect(result.status, describeRun(result)).toBe(0);
      const message = readFileSync(s.terminationLog, 'utf8');
      expect(message.startsWith('sandbox-storage-seed-report 1\nbeside=200 unplaced=0 retype=0 moved=0\nbeside: ')).toBe(true);
      expect(Buffer.byteLength(message)).toBeLessThan(4096);

      const redirected = join(s.root, 'redirected');
      writeFileSync(redirected, '');
      rmSync(s.terminationLog);
      symlinkSync(redirected, s.terminationLog);
      writeFileSync(join(s.home, 'README.md'), 'mine again\n');
      const viaLink = runSeedScript(shell, s.env(1));
      expect(viaLink.status, describeRun(viaLink)).toBe(0);
      expect(readFileSync(redirected, 'utf8')).toBe('');
      rmSync(s.terminationLog);
      const absent = runSeedScript(shell, s.env(2, { SEED_TERMINATION_LOG: join(s.root, 'absent') }));
      expect(absent.status, describeRun(absent)).toBe(0);
      expect(existsSync(join(s.root, 'absent'))).toBe(false);
    });

    describe.skipIf(!isRoot)('owners', () => {
      it('as root with SEED_UID/SEED_GID: the home directory is the sandbox user\'s, also one left root-owned before', () => {
        const s = setup();
        oldLayout(shell, s);
        mkdirSync(s.home);
        const result = runSeedScript(shell, s.env(1, { SEED_UID: '1234', SEED_GID: '2345' }));
        expect(result.status, describeRun(result)).toBe(0);
        expect(`${lstatSync(s.home).uid}:${lstatSync(s.home).gid}`).toBe('1234:2345');
      });

      it('as the sandbox user on a root kubelet made (root:fsGroup 2775): the home directory is the user\'s own, the earlier layout moved in', () => {
        const s = setup();
        oldLayout(shell, s);
        // A read-only directory of the user's: moved by rename all the same, its mode kept.
        chmodSync(join(s.volume, 'project'), 0o555);
        spawnSync('chown', ['-R', '-h', '1234:2345', s.volume, join(s.root, 'image-1'), join(s.root, 'image-2')]);
        chownSync(s.volume, 0, 2345);
        chmodSync(s.volume, 0o2775);
        chownSync(s.terminationLog, 1234, 2345);
        const before = readTree(s.volume, (path) => withoutRecord(path) || path === 'lost+found');
        const asUser: SeedRunOptions = { wrapper: ['setpriv', '--reuid', '1234', '--regid', '2345', '--clear-groups'] };
        const result = runSeedScript(shell, s.env(2), asUser);
        expect(result.status, describeRun(result)).toBe(0);
        expect(`${lstatSync(s.home).uid}:${lstatSync(s.home).gid}`).toBe('1234:2345');
        const home = readTree(s.home);
        for (const [path, entry] of Object.entries(before)) {
          if (path === 'README.md') continue; // updated by the merge
          if (path.startsWith('project')) expect(home[path]).toBe(entry);
        }
        expect(home['project']).toBe('dir 0555');
        expect(home['README.md']).toBe('file 0644 v2\n');
        expect(home['mine.txt']).toBe('file 0644 my own file\n');
        // The user owns their home: chmod works.
        const chmod = spawnSync('setpriv', ['--reuid', '1234', '--regid', '2345', '--clear-groups', 'chmod', '700', s.home]);
        expect(chmod.status).toBe(0);
      });
    });
  });
}
