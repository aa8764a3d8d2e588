// Scenario 5: seeding a volume. The seed init container's script (src/admission/seed-script.ts, run with /bin/sh
// and its SEED_* variables, used only through its exported interface) copies a generated tree into an empty
// directory; the same run copies the same tree with a plain `tar | tar` as the baseline. Then the script runs again
// on the seeded directory, where the sentinel must make it return at once. Last, per shell the script must work
// with, a tree of small files: first seed, restart, upgrade merge, against that shell's tar (bench/lib/seed-shells.ts).
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedEnvironment, seedScript } from '../../src/admission/seed-script.ts';
import { defaultPolicySpec } from '../../src/policy/defaults.ts';
import { progress } from '../lib/progress.ts';
import { measureSeedShells } from '../lib/seed-shells.ts';
import { median, round } from '../lib/stats.ts';
import { comparison, target, type ScenarioResult } from '../report/results.ts';
import type { ScenarioContext } from './context.ts';

interface TreeShape {
  directories: number;
  filesPerDirectory: number;
  totalBytes: number;
}

/** `directories` × `filesPerDirectory` files of varied sizes (¼ to 1¾ of the mean) adding up to `totalBytes`. */
function writeTree(root: string, shape: TreeShape): { files: number; bytes: number } {
  const files = shape.directories * shape.filesPerDirectory;
  const mean = Math.floor(shape.totalBytes / files);
  const noise = Buffer.alloc(2 * mean);
  randomFillSync(noise);
  let bytes = 0;
  for (let directory = 0; directory < shape.directories; directory += 1) {
    const path = join(root, `dir-${String(directory).padStart(3, '0')}`);
    mkdirSync(path, { recursive: true });
    for (let file = 0; file < shape.filesPerDirectory; file += 1) {
      const index = directory * shape.filesPerDirectory + file;
      // Sizes cycle through 0.25..1.75 × mean, so the total stays files × mean.
      const size = Math.round(mean * (0.25 + (1.5 * (index % 7)) / 6));
      writeFileSync(join(path, `file-${String(file).padStart(4, '0')}.bin`), noise.subarray(index % mean, (index % mean) + size));
      bytes += size;
    }
  }
  return { files, bytes };
}

function timedShell(script: string, env: Record<string, string>): { ms: number; stdout: string; stderr: string } {
  const started = performance.now();
  const result = spawnSync('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`/bin/sh exited ${result.status}: ${result.stderr.slice(0, 1000)}`);
  return { ms, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Where the trees go: a tmpfs (/dev/shm) when it has room, so that both copies are timed on the CPU and system
 * calls they make rather than on a shared disk's writeback, which varied several-fold between identical copies on
 * a busy machine; otherwise the run's scratch directory.
 */
function scratchRoot(context: ScenarioContext, bytesNeeded: number): { root: string; onTmpfs: boolean } {
  try {
    const shm = statfsSync('/dev/shm');
    if (shm.type === 0x01021994 && shm.bavail * shm.bsize > 4 * bytesNeeded) {
      return { root: mkdtempSync(join('/dev/shm', 'sandbox-storage-bench-seeding-')), onTmpfs: true };
    }
  } catch {
    // no /dev/shm: use the scratch directory
  }
  return { root: join(context.workDir, 'seeding'), onTmpfs: false };
}

function countEntries(root: string): number {
  return readdirSync(root, { recursive: true }).length;
}

export async function seeding(context: ScenarioContext): Promise<ScenarioResult> {
  const shape: TreeShape = context.smoke
    ? { directories: 10, filesPerDirectory: 100, totalBytes: 20 * 1024 * 1024 }
    : { directories: 100, filesPerDirectory: 100, totalBytes: 200 * 1024 * 1024 };
  const rounds = context.smoke ? 1 : 5;
  const sentinel = defaultPolicySpec().seed.sentinel;
  const { root, onTmpfs } = scratchRoot(context, shape.totalBytes);
  const source = join(root, 'source');
  progress(`seeding: writing ${shape.directories * shape.filesPerDirectory} files, ${shape.totalBytes / 2 ** 20} MB`);
  const tree = writeTree(source, shape);
  const sourceEntries = countEntries(source);
  let targetIndex = 0;
  const freshTarget = () => {
    const path = join(root, `target-${(targetIndex += 1)}`);
    mkdirSync(path);
    return path;
  };
  const seedEnv = (targetDir: string) => ({
    [seedEnvironment.source]: source,
    [seedEnvironment.target]: targetDir,
    [seedEnvironment.sentinel]: sentinel,
    [seedEnvironment.image]: 'registry.example/agents/sandbox:bench',
  });
  const plainCopy = (targetDir: string) => timedShell('(cd "$SRC" && tar -cf - .) | tar -C "$DST" -xpf -', { SRC: source, DST: targetDir });
  // On a disk, earlier copies' writeback must not slow the next one.
  const settle = () => (onTmpfs ? undefined : spawnSync('sync'));

  try {
    progress('seeding: warm-up copy (page cache)');
    const warm = freshTarget();
    plainCopy(warm);
    rmSync(warm, { recursive: true, force: true });

    const plainMs: number[] = [];
    const seedMs: number[] = [];
    let seededTarget = '';
    for (let roundIndex = 1; roundIndex <= rounds; roundIndex += 1) {
      progress(`seeding: round ${roundIndex}/${rounds}, plain tar | tar`);
      const plainTarget = freshTarget();
      settle();
      plainMs.push(plainCopy(plainTarget).ms);
      if (countEntries(plainTarget) !== sourceEntries) throw new Error('tar | tar copied an incomplete tree');
      rmSync(plainTarget, { recursive: true, force: true });

      progress(`seeding: round ${roundIndex}/${rounds}, seed script`);
      const seedTarget = freshTarget();
      settle();
      seedMs.push(timedShell(seedScript, seedEnv(seedTarget)).ms);
      if (!existsSync(join(seedTarget, sentinel))) throw new Error('the seed script left no sentinel');
      if (countEntries(seedTarget) !== sourceEntries + 1) throw new Error('the seed script copied an incomplete tree');
      if (seededTarget) rmSync(seededTarget, { recursive: true, force: true });
      seededTarget = seedTarget;
    }

    progress('seeding: second runs on the seeded volume (sentinel present)');
    const againMs: number[] = [];
    const shellMs: number[] = [];
    for (let run = 0; run < 7; run += 1) {
      shellMs.push(timedShell(':', {}).ms);
      againMs.push(timedShell(seedScript, seedEnv(seededTarget)).ms);
    }
    if (countEntries(seededTarget) !== sourceEntries + 1) throw new Error('the second seed run changed the volume');
    rmSync(seededTarget, { recursive: true, force: true });

    const smallFiles = context.smoke ? 1_000 : 10_000;
    const shellRounds = context.smoke ? 1 : 3;
    progress(`seeding: ${smallFiles} small files under each available shell, ${shellRounds} round(s)`);
    const shells = measureSeedShells(join(root, 'shells'), smallFiles, shellRounds);
    const shellTree = `${smallFiles} small files`;
    const all = (values: number[]) => values.map((ms) => ms.toFixed(0)).join(', ');

    const plain = median(plainMs);
    const seed = median(seedMs);
    const again = median(againMs);
    const againMax = Math.max(...againMs);
    const shell = median(shellMs);
    const megabytes = tree.bytes / 2 ** 20;
    return {
      id: 'seeding',
      title: 'Seeding a volume',
      status: 'ok',
      durationSeconds: 0,
      targets: [
        target('seed script ÷ plain tar | tar, first run', round(seed / plain), '×', '<=', 1.25),
        target('second run (sentinel present), slowest of 7', round(againMax, 1), 'ms', '<=', 50),
      ],
      comparisons: [
        comparison('first copy', round(seed, 1), round(plain, 1), 'plain tar | tar', 'ms'),
        comparison('second run (median of 7)', round(again, 1), round(shell, 1), 'empty /bin/sh -c :', 'ms'),
        ...shells.flatMap((figures) => [
          comparison(`${figures.shell}: first seed, ${shellTree}`, round(median(figures.firstMs), 1), round(median(figures.tarMs), 1), `${figures.shell} tar | tar`, 'ms'),
          comparison(`${figures.shell}: upgrade merge (${figures.merge})`, round(median(figures.mergeMs), 1), round(median(figures.tarMs), 1), `${figures.shell} tar | tar`, 'ms'),
        ]),
      ],
      table: {
        headers: ['run', 'tree', 'median ms', 'all runs ms'],
        rows: [
          ['plain `tar | tar`', `${tree.files} files, ${megabytes.toFixed(0)} MB`, plain.toFixed(0), plainMs.map((ms) => ms.toFixed(0)).join(', ')],
          ['seed script, first run', `${tree.files} files, ${megabytes.toFixed(0)} MB`, seed.toFixed(0), seedMs.map((ms) => ms.toFixed(0)).join(', ')],
          ['seed script, sentinel present', 'seeded volume', again.toFixed(1), againMs.map((ms) => ms.toFixed(1)).join(', ')],
          ['empty `/bin/sh -c :`', '–', shell.toFixed(1), shellMs.map((ms) => ms.toFixed(1)).join(', ')],
          ...shells.flatMap((figures) => [
            [`${figures.shell}: \`tar | tar\``, shellTree, median(figures.tarMs).toFixed(0), all(figures.tarMs)],
            [`${figures.shell}: first seed`, shellTree, median(figures.firstMs).toFixed(0), all(figures.firstMs)],
            [`${figures.shell}: restart, same image`, shellTree, median(figures.restartMs).toFixed(0), all(figures.restartMs)],
            [`${figures.shell}: upgrade merge (${figures.merge})`, shellTree, median(figures.mergeMs).toFixed(0), all(figures.mergeMs)],
          ]),
        ],
      },
      notes: [
        `${tree.files} files in ${shape.directories} directories, ${megabytes.toFixed(0)} MB, ${onTmpfs ? 'on tmpfs (/dev/shm)' : 'on disk, page cache warm, `sync` before each timed copy'}; ${rounds} round(s) alternating both copies; run as uid ${process.getuid?.() ?? '?'} with /bin/sh.`,
      ],
      details: { onTmpfs, files: tree.files, bytes: tree.bytes, rounds, plainMs: plainMs.map((ms) => round(ms, 1)), seedMs: seedMs.map((ms) => round(ms, 1)), secondRunMs: againMs.map((ms) => round(ms, 1)), emptyShellMs: shellMs.map((ms) => round(ms, 1)), shells },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
