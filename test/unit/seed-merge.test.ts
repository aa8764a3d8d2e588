// The seed record and image-upgrade merge, executed for real in temporary directories under dash with GNU tools and
// under busybox: every file state on upgrade, restart no-ops, image-owned paths, kill -9 at random points, symlinks
// the user put in the way, 0700 trees, and a non-root uid/gid.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { posixCksum } from '../harness/posix-cksum.ts';
import { describeRun, runSeedScript, seedShells, seedSummary, type SeedRunOptions, type SeedShell } from '../harness/seed-runner.ts';
import { itWhere } from '../harness/test-where.ts';
import { buildTree as build, readTree, removedAfterEachTest, type Tree } from '../harness/seed-trees.ts';

const recordName = '.sandbox-storage-seeded';
const isRoot = process.getuid?.() === 0;
const shells = seedShells();
afterAll(() => shells.forEach((shell) => shell.dispose()));

const temporaryDirectories = removedAfterEachTest();

/** Every entry below root, the seed record left out unless `exclude` says otherwise. */
function read(root: string, exclude: (path: string) => boolean = (path) => path.startsWith(recordName)): Record<string, string> {
  return readTree(root, exclude);
}

function owners(root: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const path of Object.keys(read(root, () => false))) {
    const stats = lstatSync(join(root, path));
    result[path] = `${stats.uid}:${stats.gid}`;
  }
  return result;
}

function recordHeader(target: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of readFileSync(join(target, recordName), 'utf8').split('\n')) {
    if (line === '---') break;
    const at = line.indexOf('=');
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

function recordManifest(target: string): string[] {
  const text = readFileSync(join(target, recordName), 'utf8');
  return text.slice(text.indexOf('\n---\n') + 5).split('\n').filter(Boolean).sort();
}

interface Setup {
  root: string;
  imageA: string;
  imageB: string;
  target: string;
  env(image: 'a' | 'b', extra?: Record<string, string>): Record<string, string>;
}

function setup(): Setup {
  const root = mkdtempSync(join(tmpdir(), 'seed-merge-'));
  chmodSync(root, 0o755);
  temporaryDirectories.push(root);
  const imageA = join(root, 'image-a', 'sandbox');
  const imageB = join(root, 'image-b', 'sandbox');
  const target = join(root, 'volume');
  mkdirSync(target);
  return {
    root,
    imageA,
    imageB,
    target,
    env: (image, extra = {}) => ({
      SEED_SOURCE: image === 'a' ? imageA : imageB,
      SEED_TARGET: target,
      SEED_SENTINEL: recordName,
      SEED_IMAGE: image === 'a' ? 'registry.example/sandbox:1' : 'registry.example/sandbox:2',
      SEED_IMAGE_OWNED: 'skills\n.tool-version',
      ...extra,
    }),
  };
}

// Image version 1 and version 2 of the same sandbox image.
const treeA: Tree = {
  'unchanged.txt': { file: 'same in both\n' },
  'changed.txt': { file: 'v1\n' },
  'modified.txt': { file: 'v1\n' },
  'modified-only-by-user.txt': { file: 'v1\n' },
  'deleted.txt': { file: 'v1\n' },
  'deleted-unchanged.txt': { file: 'v1\n' },
  'removed.txt': { file: 'gone in v2\n' },
  'run.sh': { file: '#!/bin/sh\n', mode: 0o644 },
  home: { dir: 0o700 },
  'home/.bashrc': { file: 'PS1=v1\n', mode: 0o600 },
  'home/.profile': { file: 'profile\n', mode: 0o600 },
  'dir-deleted': { dir: 0o755 },
  'dir-deleted/a.txt': { file: 'a\n' },
  'was-file': { file: 'a file in v1\n' },
  link: { link: 'changed.txt' },
  'abs-link': { link: '/etc' },
  'up-link': { link: '../../outside' },
  skills: { dir: 0o755 },
  'skills/skill.md': { file: 'skill v1\n' },
  'skills/old.md': { file: 'dropped in v2\n' },
  '.tool-version': { file: '1\n' },
  'dir-mode': { dir: 0o755 },
  'dir-user-mode': { dir: 0o755 },
};
const treeB: Tree = {
  'unchanged.txt': { file: 'same in both\n' },
  'changed.txt': { file: 'v2\n' },
  'modified.txt': { file: 'v2\n' },
  'modified-only-by-user.txt': { file: 'v1\n' },
  'deleted.txt': { file: 'v2\n' },
  'deleted-unchanged.txt': { file: 'v1\n' },
  'run.sh': { file: '#!/bin/sh\n', mode: 0o755 },
  home: { dir: 0o700 },
  'home/.bashrc': { file: 'PS1=v2\n', mode: 0o600 },
  'home/.profile': { file: 'profile\n', mode: 0o600 },
  'dir-deleted': { dir: 0o755 },
  'dir-deleted/a.txt': { file: 'a\n' },
  'dir-deleted/b.txt': { file: 'new in v2\n' },
  'was-file': { dir: 0o750 },
  'was-file/inside.txt': { file: 'now a directory\n' },
  link: { link: 'unchanged.txt' },
  'abs-link': { link: '/etc' },
  'up-link': { link: '../../outside' },
  'added.txt': { file: 'added in v2\n' },
  'new-dir': { dir: 0o750 },
  'new-dir/nested.txt': { file: 'nested\n', mode: 0o640 },
  'conflict.txt': { file: 'the image wants this\n' },
  'blocked': { dir: 0o755 },
  'blocked/file.txt': { file: 'must not land outside\n' },
  skills: { dir: 0o755 },
  'skills/skill.md': { file: 'skill v2\n' },
  'skills/new.md': { file: 'new skill\n' },
  '.tool-version': { file: '2\n' },
  'dir-mode': { dir: 0o750 },
  'dir-user-mode': { dir: 0o750 },
};

/** What the user does between the first seed and the upgrade. */
function userChanges(target: string, root: string): void {
  writeFileSync(join(target, 'modified.txt'), 'mine\n');
  writeFileSync(join(target, 'modified-only-by-user.txt'), 'mine too\n');
  rmSync(join(target, 'deleted.txt'));
  rmSync(join(target, 'deleted-unchanged.txt'));
  rmSync(join(target, 'dir-deleted'), { recursive: true });
  writeFileSync(join(target, 'conflict.txt'), 'my own file\n');
  writeFileSync(join(target, 'skills', 'skill.md'), 'edited skill\n');
  writeFileSync(join(target, 'user-notes.md'), 'notes\n');
  chmodSync(join(target, 'dir-user-mode'), 0o700);
  // A symlink where the image will add a directory: the merge must not write through it.
  mkdirSync(join(root, 'outside'));
  symlinkSync(join(root, 'outside'), join(target, 'blocked'));
}

/** The volume after the upgrade merge. */
const expectedAfterMerge: Record<string, string> = {
  '.tool-version': 'file 0644 2\n', // image-owned: replaced
  'abs-link': 'link -> /etc',
  'added.txt': 'file 0644 added in v2\n', // image-added
  blocked: 'link -> ', // filled in per run: the user's symlink, untouched
  'changed.txt': 'file 0644 v2\n', // image-changed, untouched by the user: updated
  'conflict.txt': 'file 0644 my own file\n', // image-added where the user has a file: kept
  'dir-mode': 'dir 0750', // directory mode changed by the image, untouched by the user: updated
  'dir-user-mode': 'dir 0700', // directory mode changed by the user: kept
  home: 'dir 0700',
  'home/.bashrc': 'file 0600 PS1=v2\n',
  'home/.profile': 'file 0600 profile\n',
  link: 'link -> unchanged.txt', // symlink retargeted by the image: updated
  'modified-only-by-user.txt': 'file 0644 mine too\n',
  'modified.txt': 'file 0644 mine\n', // user-modified: kept although the image changed it
  'modified.txt.sandbox-storage-new': 'file 0644 v2\n', // ... and the image's new version beside it
  'new-dir': 'dir 0750',
  'new-dir/nested.txt': 'file 0640 nested\n',
  'removed.txt': 'file 0644 gone in v2\n', // image-removed: left to the user
  'run.sh': 'file 0755 #!/bin/sh\n', // mode changed by the image: updated
  skills: 'dir 0755',
  'skills/new.md': 'file 0644 new skill\n',
  'skills/skill.md': 'file 0644 skill v2\n', // image-owned: replaced despite the user's edit
  'unchanged.txt': 'file 0644 same in both\n',
  'up-link': 'link -> ../../outside',
  'user-notes.md': 'file 0644 notes\n',
  'was-file': 'dir 0750', // type changed by the image, untouched by the user
  'was-file/inside.txt': 'file 0644 now a directory\n',
  // deleted.txt, deleted-unchanged.txt, dir-deleted/ (and its new b.txt): deleted by the user, never resurrected
  // skills/old.md: image-owned and dropped by the image: removed
};

function expected(root: string): Record<string, string> {
  return { ...expectedAfterMerge, blocked: `link -> ${join(root, 'outside')}` };
}

function prepareUpgrade(shell: SeedShell, options: SeedRunOptions = {}, extra: Record<string, string> = {}): Setup {
  const s = setup();
  build(s.imageA, treeA);
  build(s.imageB, treeB);
  const first = runSeedScript(shell, s.env('a', extra), options);
  expect(first.status, describeRun(first)).toBe(0);
  userChanges(s.target, s.root);
  return s;
}

for (const shell of shells) {
  describe.skipIf(!shell.available)(`seed record and upgrade merge under ${shell.label}`, () => {
    it('first seed writes a record with the image and a manifest line per entry', () => {
      const s = setup();
      build(s.imageA, treeA);
      const result = runSeedScript(shell, s.env('a'));
      expect(result.status, describeRun(result)).toBe(0);
      const size = Object.keys(treeA).length;
      expect(seedSummary(result.stdout)).toMatchObject({ added: size, updated: 0, kept: 0, skipped: 0 });
      expect(read(s.target)).toEqual(read(s.imageA));
      expect(recordHeader(s.target)).toMatchObject({ image: 'registry.example/sandbox:1', source: s.imageA, hash: shell.busybox ? 'sha256sum' : 'cksum', entries: String(size) });
      const manifest = recordManifest(s.target);
      expect(manifest).toHaveLength(size);
      // type, mode, size, digest of the content (of the link target for symlinks), path
      expect(manifest).toContain(`f\t600\t7\t${digest(shell, 'PS1=v1\n')}\thome/.bashrc`);
      expect(manifest).toContain(`d\t700\t${lstatSync(join(s.imageA, 'home')).size}\t-\thome`);
      expect(manifest).toContain(`l\t777\t4\t${digest(shell, '/etc')}\tabs-link`);
      expect(readdirSync(s.target).filter((name) => name.startsWith(`${recordName}.`))).toEqual([]);
    });

    it('a restart with the same image is a no-op that leaves the tree and the record alone', () => {
      const s = prepareUpgrade(shell);
      const before = read(s.target);
      const recordBefore = readFileSync(join(s.target, recordName), 'utf8');
      const result = runSeedScript(shell, s.env('a'));
      expect(result.status, describeRun(result)).toBe(0);
      expect(result.stdout).toMatch(/^sandbox-storage seed: up to date: volume at .* was seeded from image registry\.example\/sandbox:1: added 0, updated 0, kept 0, skipped 0, 0 bytes copied, \d+ ms\n$/);
      expect(read(s.target)).toEqual(before);
      expect(readFileSync(join(s.target, recordName), 'utf8')).toBe(recordBefore);
    });

    it('an upgrade merges every file state: added, changed, user-modified, user-deleted, removed, owned', () => {
      const s = prepareUpgrade(shell);
      const result = runSeedScript(shell, s.env('b'));
      expect(result.status, describeRun(result)).toBe(0);
      expect(read(s.target)).toEqual(expected(s.root));
      expect(readdirSync(join(s.root, 'outside'))).toEqual([]);
      // updated: changed, run.sh, home/.bashrc, link, was-file (+ its new file counts as added), .tool-version, skills/skill.md,
      // dir-mode; kept: modified, modified-only-by-user, conflict, blocked, removed, dir-user-mode
      expect(seedSummary(result.stdout)).toMatchObject({ added: 5, updated: 8, kept: 6, skipped: 6 });
      expect(result.stdout).toContain(
        'sandbox-storage seed: kept (changed by the user; the image has a new version of it, put beside it as modified.txt.sandbox-storage-new): modified.txt\n',
      );
      expect(result.stdout).toContain('sandbox-storage seed: kept (changed by the user): modified-only-by-user.txt\n');
      expect(result.stdout).toContain('sandbox-storage seed: skipped (deleted by the user): deleted.txt\n');
      expect(result.stdout).toContain('sandbox-storage seed: skipped (its directory was deleted or replaced): dir-deleted/b.txt\n');
      expect(result.stdout).toContain('sandbox-storage seed: skipped (its directory was deleted or replaced): blocked/file.txt\n');
      expect(result.stdout).toContain('sandbox-storage seed: kept (the volume already has its own version): conflict.txt\n');
      expect(result.stdout).toContain('sandbox-storage seed: removed 1 image-owned paths the image no longer has\n');
      expect(recordHeader(s.target).image).toBe('registry.example/sandbox:2');
      expect(readdirSync(s.target).filter((name) => name.startsWith(`${recordName}.`))).toEqual([]);

      // The next restart is a no-op, and a second user deletion still is not undone by it.
      rmSync(join(s.target, 'changed.txt'));
      const again = runSeedScript(shell, s.env('b'));
      expect(again.stdout).toContain('up to date');
      expect(existsSync(join(s.target, 'changed.txt'))).toBe(false);
    });

    // Records of SHA-256 (every record before cksum, and images without coreutils 9's cksum) merge with their own
    // tool, also where cksum is there now: the volume's files compare with the record, nothing counts as the user's.
    itWhere(!shell.busybox)('an upgrade from a SHA-256 record merges by SHA-256 and keeps writing it', () => {
      const noFastCksum = mkdtempSync(join(tmpdir(), 'seed-merge-no-cksum-'));
      temporaryDirectories.push(noFastCksum);
      writeFileSync(join(noFastCksum, 'cksum'), '#!/bin/sh\necho "cksum: unknown option" >&2\nexit 1\n', { mode: 0o755 });
      const s = prepareUpgrade(shell, {}, { PATH: `${noFastCksum}:${process.env.PATH ?? '/usr/bin:/bin'}` });
      expect(recordHeader(s.target).hash).toBe('sha256sum');
      expect(recordManifest(s.target)).toContain(`f\t600\t7\t${spawnSync('sha256sum', { input: 'PS1=v1\n', encoding: 'utf8' }).stdout.split(' ')[0]}\thome/.bashrc`);

      const result = runSeedScript(shell, s.env('b'));
      expect(result.status, describeRun(result)).toBe(0);
      expect(read(s.target)).toEqual(expected(s.root));
      expect(seedSummary(result.stdout)).toMatchObject({ added: 5, updated: 8, kept: 6, skipped: 6 });
      expect(recordHeader(s.target)).toMatchObject({ image: 'registry.example/sandbox:2', hash: 'sha256sum' });
      expect(recordManifest(s.target)).toContain(`f\t644\t3\t${spawnSync('sha256sum', { input: 'v2\n', encoding: 'utf8' }).stdout.split(' ')[0]}\tchanged.txt`);
    });

    it('spec.seed.reseed never: an image change copies nothing', () => {
      const s = prepareUpgrade(shell);
      const before = read(s.target);
      const result = runSeedScript(shell, s.env('b', { SEED_RESEED: 'never' }));
      expect(result.status, describeRun(result)).toBe(0);
      expect(result.stdout).toContain('spec.seed.reseed is never, so nothing is copied');
      expect(read(s.target)).toEqual(before);
      expect(recordHeader(s.target).image).toBe('registry.example/sandbox:1');
    });

    it('a record of the earlier format (no manifest) is adopted: nothing is copied, overwritten or resurrected', () => {
      const s = setup();
      build(s.imageB, treeB);
      build(s.target, treeA);
      rmSync(join(s.target, 'deleted.txt'));
      writeFileSync(join(s.target, recordName), 'image=registry.example/sandbox:1\nseeded-at=2025-01-01T00:00:00Z\nsource=/sandbox\nentries=3\n');
      const before = read(s.target);
      const result = runSeedScript(shell, s.env('b', { SEED_IMAGE_OWNED: '' }));
      expect(result.status, describeRun(result)).toBe(0);
      expect(read(s.target)).toEqual(before);
      expect(recordHeader(s.target).image).toBe('registry.example/sandbox:2');
      // From now on, changes are measured against the adopted baseline.
      expect(recordManifest(s.target).some((line) => line.endsWith('\tadded.txt'))).toBe(true);
    });

    /**
     * Runs `version` over volumes from `prepare`, each killed with SIGKILL at a random point (8 attempts), then reruns
     * it: every rerun must end with `expectedTree` and the record of an uninterrupted run, and no scratch names left.
     */
    function killAtRandomPointsThenRerun(prepare: () => Setup, version: 'a' | 'b', expectedTree: (s: Setup) => unknown): void {
      const reference = prepare();
      const started = Date.now();
      expect(runSeedScript(shell, reference.env(version)).status).toBe(0);
      const duration = Math.max(Date.now() - started, 50);
      const referenceManifest = recordManifest(reference.target);
      const seed = Number(process.env.SEED_KILL_SEED ?? Date.now() % 100_000);
      let state = seed;
      const random = (): number => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
      let interrupted = 0;
      for (let attempt = 0; attempt < 8; attempt += 1) {
        const s = prepare();
        const delaySeconds = ((0.05 + random() * 1.1) * duration) / 1000;
        // timeout kills the whole process group, the image reader and tar included, as a container's end does.
        const killed = runSeedScript(shell, s.env(version), { wrapper: ['timeout', '-s', 'KILL', delaySeconds.toFixed(3)] });
        if (killed.status !== 0) interrupted += 1;
        const rerun = runSeedScript(shell, s.env(version));
        const context = `kill seed ${seed} (rerun with SEED_KILL_SEED), attempt ${attempt}, after ${delaySeconds}s\n${describeRun(killed)}\n${describeRun(rerun)}`;
        expect(rerun.status, context).toBe(0);
        expect(read(s.target), context).toEqual(expectedTree(s));
        expect(recordManifest(s.target), context).toEqual(referenceManifest);
        expect(readdirSync(s.target).filter((name) => name.startsWith(`${recordName}.`)), context).toEqual([]);
      }
      expect(interrupted, `seed ${seed}: at least one run must really have been killed`).toBeGreaterThan(0);
    }

    it('kill -9 at random points of a first seed, then a rerun: the image\'s tree and the record of an uninterrupted run', () => {
      const freshVolume = () => {
        const s = setup();
        build(s.imageA, treeA);
        return s;
      };
      killAtRandomPointsThenRerun(freshVolume, 'a', (s) => read(s.imageA));
    }, 300_000); // dozens of real script runs: a generous deadline for a loaded machine

    it('kill -9 at random points of an upgrade, then a rerun: the same tree and record as an uninterrupted run', () => {
      killAtRandomPointsThenRerun(() => prepareUpgrade(shell), 'b', (s) => expected(s.root));
    }, 300_000);

    // PATH wrappers count the tool calls; a shell that runs its own applets first never calls them.
    it.skipIf(shell.prefersApplets)('kill -9 before every step of an upgrade (each tool call in turn), then a rerun: the same result', () => {
      const reference = prepareUpgrade(shell);
      const wrappers = mkdtempSync(join(tmpdir(), 'seed-kill-'));
      chmodSync(wrappers, 0o755);
      temporaryDirectories.push(wrappers);
      const counter = join(wrappers, 'count');
      const tools = ['mv', 'mkdir', 'chmod', 'rm', 'tar', 'cat', 'awk', 'xargs'];
      const realPath = [...(shell.binDir ? [shell.binDir] : []), process.env.PATH ?? ''].join(':');
      for (const tool of tools) {
        const real = spawnSync('/bin/sh', ['-c', `PATH='${realPath}' command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
        const invoke = shell.busybox ? `${shell.argv[0]} ${tool}` : real;
        writeFileSync(
          join(wrappers, tool),
          `#!/bin/sh\nread -r n <'${counter}' || n=0\nn=$((n + 1))\necho "$n" >'${counter}'\n` +
            `if [ "$n" = "\${KILL_AT:-0}" ]; then kill -s KILL 0; fi\nexec ${invoke} "$@"\n`,
        );
        chmodSync(join(wrappers, tool), 0o755);
      }
      const withWrappers = (env: Record<string, string>, killAt: number) => ({
        ...env,
        PATH: `${wrappers}:${realPath}`,
        KILL_AT: String(killAt),
      });
      writeFileSync(counter, '0\n');
      const counted = runSeedScript({ ...shell, binDir: undefined } as SeedShell, withWrappers(reference.env('b'), 0), { wrapper: ['setsid'] });
      expect(counted.status, describeRun(counted)).toBe(0);
      const steps = Number(readFileSync(counter, 'utf8'));
      expect(steps).toBeGreaterThan(10);
      const referenceManifest = recordManifest(reference.target);
      let kills = 0;
      let tried = 0;
      for (let killAt = 1; killAt <= steps; killAt += Math.max(1, Math.floor(steps / 16))) {
        tried += 1;
        const s = prepareUpgrade(shell);
        writeFileSync(counter, '0\n');
        const killed = runSeedScript({ ...shell, binDir: undefined } as SeedShell, withWrappers(s.env('b'), killAt), { wrapper: ['setsid'] });
        const rerun = runSeedScript(shell, s.env('b'));
        const context = `killed before tool call ${killAt} of ${steps}\n${describeRun(killed)}\n${describeRun(rerun)}`;
        // Tools running in parallel (both ends of a pipe) can share a count, so a few points may not be hit.
        if (killed.signal === 'SIGKILL') kills += 1;
        expect(rerun.status, context).toBe(0);
        expect(read(s.target), context).toEqual(expected(s.root));
        expect(recordManifest(s.target), context).toEqual(referenceManifest);
      }
      expect(kills).toBeGreaterThan(tried / 2);
    }, 300_000); // dozens of real script runs: a generous deadline for a loaded machine

    it('kill -9 during a first seed, then a rerun: the complete tree and record', () => {
      const populate = (image: string): void => {
        build(image, treeA);
        for (let index = 0; index < 200; index += 1) writeFileSync(join(image, 'home', `file-${index}`), `${index}\n`.repeat(100));
      };
      const reference = setup();
      populate(reference.imageA);
      const started = Date.now();
      expect(runSeedScript(shell, reference.env('a')).status).toBe(0);
      const duration = Math.max(Date.now() - started, 20);
      let interrupted = 0;
      for (const fraction of [0.2, 0.5, 0.8]) {
        const s = setup();
        populate(s.imageA);
        const delay = ((duration * fraction) / 1000).toFixed(3);
        const killed = runSeedScript(shell, s.env('a'), { wrapper: ['timeout', '-s', 'KILL', delay] });
        if (killed.status !== 0) interrupted += 1;
        const rerun = runSeedScript(shell, s.env('a'));
        const context = `killed after ${delay}s\n${describeRun(killed)}\n${describeRun(rerun)}`;
        expect(rerun.status, context).toBe(0);
        expect(read(s.target), context).toEqual(read(s.imageA));
        expect(recordManifest(s.target), context).toHaveLength(Object.keys(treeA).length + 200);
      }
      expect(interrupted).toBeGreaterThan(0);
    });

    it("on an fsGroup volume (kubelet's pass made files group-rw and directories setgid), untouched files still get upgrades", () => {
      const s = setup();
      build(s.imageA, treeA);
      build(s.imageB, treeB);
      const first = runSeedScript(shell, s.env('a'));
      expect(first.status, describeRun(first)).toBe(0);
      // kubelet's ownership pass (pkg/volume/volume_linux.go): group to fsGroup, files |= 0660, directories |= 02770.
      for (const path of Object.keys(read(s.target))) {
        const full = join(s.target, path);
        const stats = lstatSync(full);
        if (stats.isSymbolicLink()) continue;
        if (isRoot) lchownSync(full, -1, 5555);
        chmodSync(full, (stats.mode & 0o7777) | (stats.isDirectory() ? 0o2770 : 0o660));
      }
      // A mode change the pass does not explain is the user's.
      chmodSync(join(s.target, 'modified-only-by-user.txt'), 0o666);
      const result = runSeedScript(shell, s.env('b'));
      expect(result.status, describeRun(result)).toBe(0);
      const after = read(s.target);
      expect(after['changed.txt']).toBe('file 0644 v2\n');
      expect(after['modified.txt']).toBe('file 0644 v2\n');
      expect(after['home/.bashrc']).toBe('file 0600 PS1=v2\n');
      expect(after['run.sh']).toBe('file 0755 #!/bin/sh\n');
      expect(after['dir-mode']).toBe('dir 0750');
      expect(after['link']).toBe('link -> unchanged.txt');
      expect(after['modified-only-by-user.txt']).toBe('file 0666 v1\n');
      expect(result.stdout).toContain('sandbox-storage seed: kept (changed by the user): modified-only-by-user.txt\n');
      expect(result.stdout).not.toContain('kept (changed by the user): changed.txt');
    });

    it('never writes through a symlink planted at a name beside the record (temp record, journal, scratch space)', () => {
      for (const upgrade of [false, true]) {
        const s = upgrade ? prepareUpgrade(shell) : setup();
        if (!upgrade) build(s.imageA, treeA);
        const outside = join(s.root, 'outside-planted');
        mkdirSync(outside);
        const planted: Record<string, string> = { tmp: `${recordName}.tmp`, journal: `${recordName}.pending`, journalTmp: `${recordName}.pending.tmp` };
        for (const [name, link] of Object.entries(planted)) {
          writeFileSync(join(outside, name), `${name} outside\n`);
          symlinkSync(join(outside, name), join(s.target, link));
        }
        mkdirSync(join(outside, 'work'));
        symlinkSync(join(outside, 'work'), join(s.target, `${recordName}.work`));
        const result = runSeedScript(shell, s.env(upgrade ? 'b' : 'a'));
        expect(result.status, describeRun(result)).toBe(0);
        for (const name of Object.keys(planted)) expect(readFileSync(join(outside, name), 'utf8'), name).toBe(`${name} outside\n`);
        expect(readdirSync(join(outside, 'work'))).toEqual([]);
        expect(read(s.target)).toEqual(upgrade ? expected(s.root) : read(s.imageA));
        expect(readdirSync(s.target).filter((name) => name.startsWith(`${recordName}.`))).toEqual([]);
      }
    });

    it('type changes: applied where nothing of the user is in the way, reported where something is', () => {
      const s = setup();
      build(s.imageA, {
        'became-file': { dir: 0o755 },
        'became-file/a.txt': { file: 'a\n' },
        'became-file/sub': { dir: 0o755 },
        'became-file/sub/b.txt': { file: 'b\n' },
        'became-link': { dir: 0o755 },
        'became-link/c.txt': { file: 'c\n' },
        'user-added-inside': { dir: 0o755 },
        'user-added-inside/x.txt': { file: 'x\n' },
        'user-edited-inside': { dir: 0o755 },
        'user-edited-inside/y.txt': { file: 'y\n' },
        'file-became-dir': { file: 'v1\n' },
      });
      build(s.imageB, {
        'became-file': { file: 'now a file\n' },
        'became-link': { link: 'became-file' },
        'user-added-inside': { file: 'now a file\n' },
        'user-edited-inside': { file: 'now a file\n' },
        'file-became-dir': { dir: 0o755 },
        'file-became-dir/inside.txt': { file: 'inside\n' },
      });
      expect(runSeedScript(shell, s.env('a')).status).toBe(0);
      rmSync(join(s.target, 'became-file', 'sub', 'b.txt')); // a deletion leaves nothing in the way
      writeFileSync(join(s.target, 'user-added-inside', 'mine.txt'), 'mine\n');
      writeFileSync(join(s.target, 'user-edited-inside', 'y.txt'), 'edited\n');
      writeFileSync(join(s.target, 'file-became-dir'), 'mine\n');

      const result = runSeedScript(shell, s.env('b'));

      expect(result.status, describeRun(result)).toBe(0);
      expect(read(s.target)).toEqual({
        'became-file': 'file 0644 now a file\n',
        'became-link': 'link -> became-file',
        'file-became-dir': 'file 0644 mine\n',
        'user-added-inside': 'dir 0755',
        'user-added-inside/mine.txt': 'file 0644 mine\n',
        'user-added-inside/x.txt': 'file 0644 x\n',
        'user-edited-inside': 'dir 0755',
        'user-edited-inside/y.txt': 'file 0644 edited\n',
      });
      expect(result.stdout).toContain('sandbox-storage seed: kept (the image made it a file; the user changed or added files in it): user-added-inside\n');
      expect(result.stdout).toContain('sandbox-storage seed: kept (the image made it a file; the user changed or added files in it): user-edited-inside\n');
      expect(result.stdout).toContain('sandbox-storage seed: kept (changed by the user; the image made it a directory): file-became-dir\n');
      expect(result.stdout).not.toContain('became-file/');
      // kept: the three above, and x.txt and y.txt, which the image no longer has; skipped: file-became-dir/inside.txt
      expect(seedSummary(result.stdout)).toMatchObject({ updated: 2, kept: 5, skipped: 1 });
      // The record holds the image's new version of what was applied, and what the user kept keeps counting as theirs.
      expect(recordManifest(s.target)).toContain(`f\t644\t11\t${digest(shell, 'now a file\n')}\tbecame-file`);
      expect(runSeedScript(shell, s.env('b')).stdout).toContain('up to date');
    });

    it("the image's new version of a file the user changed is never written through the user's symlink at its name", () => {
      const s = prepareUpgrade(shell);
      const outside = join(s.root, 'outside-beside');
      writeFileSync(outside, 'outside\n');
      symlinkSync(outside, join(s.target, 'modified.txt.sandbox-storage-new'));
      const result = runSeedScript(shell, s.env('b'));
      expect(result.status, describeRun(result)).toBe(0);
      expect(readFileSync(outside, 'utf8')).toBe('outside\n');
      expect(readlinkSync(join(s.target, 'modified.txt.sandbox-storage-new'))).toBe(outside);
      expect(result.stdout).toContain(
        "sandbox-storage seed: not put beside (modified.txt.sandbox-storage-new is the user's and no regular file): the image's new version of modified.txt\n",
      );
    });

    describe('a volume with files but no record (a pre-existing PVC, a share used before, a deleted record)', () => {
      it('is adopted: existing paths win, missing image paths are added, the record holds what the image would have put there', () => {
        const s = setup();
        build(s.imageA, treeA);
        build(s.imageB, treeB);
        build(s.target, {
          'changed.txt': { file: 'mine\n' }, // the image has v1 here
          'unchanged.txt': { file: 'same in both\n' }, // exactly the image's
          'run.sh': { file: 'my script\n', mode: 0o700 },
          home: { dir: 0o755 }, // the image has 0700
          'home/.bashrc': { file: 'my bashrc\n', mode: 0o600 },
          'user-notes.md': { file: 'notes\n' },
        });
        const result = runSeedScript(shell, s.env('a'));
        expect(result.status, describeRun(result)).toBe(0);
        const after = read(s.target);
        expect(after['changed.txt']).toBe('file 0644 mine\n');
        expect(after['run.sh']).toBe('file 0700 my script\n');
        expect(after.home).toBe('dir 0755');
        expect(after['home/.bashrc']).toBe('file 0600 my bashrc\n');
        expect(after['user-notes.md']).toBe('file 0644 notes\n');
        // Everything the volume lacked is added, as the image has it.
        const image = read(s.imageA);
        for (const path of ['modified.txt', 'home/.profile', 'link', 'skills', 'skills/skill.md', 'dir-deleted/a.txt', 'abs-link']) {
          expect(after[path], path).toBe(image[path]);
        }
        expect(result.stdout).toContain('sandbox-storage seed: kept (the volume already has its own version): changed.txt\n');
        expect(result.stdout).toMatch(/: adopted volume at .* \(it had files but no seed record\) for image registry\.example\/sandbox:1.*: added \d+, updated 0, kept 4, skipped 0, /);
        // The record holds the image's version of every path, the user's kept files included.
        expect(recordHeader(s.target).image).toBe('registry.example/sandbox:1');
        expect(recordManifest(s.target)).toContain(`f\t644\t3\t${digest(shell, 'v1\n')}\tchanged.txt`);
        expect(recordManifest(s.target)).toHaveLength(Object.keys(treeA).length);
        expect(readdirSync(s.target).filter((name) => name.startsWith(`${recordName}.`))).toEqual([]);

        // So the next image version keeps what the user had and updates what the adoption added.
        const upgrade = runSeedScript(shell, s.env('b'));
        expect(upgrade.status, describeRun(upgrade)).toBe(0);
        const merged = read(s.target);
        expect(merged['changed.txt']).toBe('file 0644 mine\n');
        expect(merged['home/.bashrc']).toBe('file 0600 my bashrc\n');
        expect(merged['modified.txt']).toBe('file 0644 v2\n');
        expect(merged['run.sh']).toBe('file 0700 my script\n');
      });

      it('kill -9 at random points of an adoption, then a rerun: the same tree and record as an uninterrupted run', () => {
        const adopted = (): Setup => {
          const s = setup();
          build(s.imageA, treeA);
          build(s.target, { 'changed.txt': { file: 'mine\n' }, home: { dir: 0o755 }, 'user-notes.md': { file: 'notes\n' } });
          return s;
        };
        const reference = adopted();
        const started = Date.now();
        expect(runSeedScript(shell, reference.env('a')).status).toBe(0);
        const duration = Math.max(Date.now() - started, 50);
        const referenceTree = read(reference.target);
        const referenceManifest = recordManifest(reference.target);
        let interrupted = 0;
        for (const fraction of [0.15, 0.4, 0.65, 0.9]) {
          const s = adopted();
          const delay = ((duration * fraction) / 1000).toFixed(3);
          const killed = runSeedScript(shell, s.env('a'), { wrapper: ['timeout', '-s', 'KILL', delay] });
          if (killed.status !== 0) interrupted += 1;
          const rerun = runSeedScript(shell, s.env('a'));
          const context = `killed after ${delay}s\n${describeRun(killed)}\n${describeRun(rerun)}`;
          expect(rerun.status, context).toBe(0);
          expect(read(s.target), context).toEqual(referenceTree);
          expect(recordManifest(s.target), context).toEqual(referenceManifest);
        }
        expect(interrupted).toBeGreaterThan(0);
      });

      it('a symlink of the user is never followed or replaced, nothing lands outside the volume', () => {
        const s = setup();
        build(s.imageA, treeA);
        const outside = join(s.root, 'outside');
        mkdirSync(outside);
        mkdirSync(s.target, { recursive: true });
        symlinkSync(outside, join(s.target, 'home'));
        symlinkSync(join(outside, 'unchanged.txt'), join(s.target, 'unchanged.txt'));
        const result = runSeedScript(shell, s.env('a'));
        expect(result.status, describeRun(result)).toBe(0);
        expect(readdirSync(outside)).toEqual([]);
        expect(readlinkSync(join(s.target, 'home'))).toBe(outside);
        expect(readlinkSync(join(s.target, 'unchanged.txt'))).toBe(join(outside, 'unchanged.txt'));
        expect(read(s.target)['changed.txt']).toBe('file 0644 v1\n');
        expect(result.stdout).toContain('sandbox-storage seed: skipped (its directory was deleted or replaced): home/.bashrc\n');
      });

      it.skipIf(!isRoot)('as a user who cannot write part of it: adds what it can, records only that, and does not fail half-way', () => {
        const s = setup();
        build(s.imageA, treeA);
        build(s.target, { skills: { dir: 0o755 }, 'user-notes.md': { file: 'notes\n' } });
        spawnSync('chown', ['-R', '-h', '1234:1234', join(s.root, 'image-a'), s.target]);
        lchownSync(join(s.target, 'skills'), 0, 0); // e.g. left by an earlier root seeder
        const asUser: SeedRunOptions = { wrapper: ['setpriv', '--reuid', '1234', '--regid', '1234', '--clear-groups'] };
        const result = runSeedScript(shell, s.env('a'), asUser);
        expect(result.status, describeRun(result)).toBe(0);
        const after = read(s.target);
        expect(after['skills/skill.md']).toBeUndefined();
        expect(after['changed.txt']).toBe('file 0644 v1\n');
        expect(after['home/.bashrc']).toBe('file 0600 PS1=v1\n');
        expect(result.stdout).toContain('sandbox-storage seed: skipped (cannot write here as uid 1234): skills/skill.md\n');
        // Not recorded, so a seeder that can write it later adds it as new to the volume.
        const manifest = recordManifest(s.target);
        expect(manifest.some((line) => line.endsWith('\tskills/skill.md'))).toBe(false);
        expect(manifest.some((line) => line.endsWith('\tchanged.txt'))).toBe(true);
      });
    });

    describe.skipIf(!isRoot)('ownership', () => {
      it('as root with SEED_UID/SEED_GID: merged files and new directories belong to the sandbox user, modes kept', () => {
        const s = prepareUpgrade(shell, {}, { SEED_UID: '1234', SEED_GID: '2345' });
        lchownSync(join(s.target, 'user-notes.md'), 1234, 2345);
        const result = runSeedScript(shell, s.env('b', { SEED_UID: '1234', SEED_GID: '2345' }));
        expect(result.status, describeRun(result)).toBe(0);
        expect(read(s.target)).toEqual(expected(s.root));
        const owned = owners(s.target);
        for (const [path, owner] of Object.entries(owned)) {
          // files the test itself wrote as root stand for "the user's", and keep their owner
          if (['modified.txt', 'modified-only-by-user.txt', 'conflict.txt', 'blocked'].includes(path)) continue;
          expect({ path, owner }).toEqual({ path, owner: '1234:2345' });
        }
        expect(`${lstatSync(s.target).uid}:${lstatSync(s.target).gid}`).toBe('1234:2345');
      });

      it('as an unprivileged user (setpriv uid/gid 1234): first seed and merge, everything owned by 1234, 0700 kept', () => {
        const s = setup();
        build(s.imageA, treeA);
        build(s.imageB, treeB);
        for (const root of [join(s.root, 'image-a'), join(s.root, 'image-b'), s.target]) {
          spawnSync('chown', ['-R', '-h', '1234:1234', root]);
        }
        const asUser: SeedRunOptions = { wrapper: ['setpriv', '--reuid', '1234', '--regid', '1234', '--clear-groups'] };
        const first = runSeedScript(shell, s.env('a', { SEED_UID: '1234', SEED_GID: '1234' }), asUser);
        expect(first.status, describeRun(first)).toBe(0);
        expect(read(s.target)).toEqual(read(s.imageA));
        userChanges(s.target, s.root);
        spawnSync('chown', ['-R', '-h', '1234:1234', s.target]);
        const merged = runSeedScript(shell, s.env('b', { SEED_UID: '1234', SEED_GID: '1234' }), asUser);
        expect(merged.status, describeRun(merged)).toBe(0);
        expect(read(s.target)).toEqual(expected(s.root));
        for (const [path, owner] of Object.entries(owners(s.target))) expect({ path, owner }).toEqual({ path, owner: '1234:1234' });
        expect(read(s.target).home).toBe('dir 0700');
      });
    });
  });
}

/** The record's digest of TEXT: cksum's CRC with GNU tools, SHA-256 under busybox (no cksum applet). */
function digest(shell: SeedShell, text: string): string {
  if (!shell.busybox) return posixCksum(text);
  return spawnSync('sha256sum', { input: text, encoding: 'utf8' }).stdout.split(' ')[0] ?? '';
}
