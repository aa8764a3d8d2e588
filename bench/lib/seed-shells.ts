// The seed script under each shell it must work with (dash with GNU tools, busybox, a static busybox preferring its
// applets; see test/harness/seed-runner.ts) on a tree of many small files, where the cost is per entry: first seed,
// restart with the same image (sentinel present), and an upgrade merge (1% changed, 1% added), each set against
// that shell's own `tar -cf - . | tar -xpf -` of the same tree in the same round.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSeedScript, seedShells, seedSummary, type SeedShell } from '../../test/harness/seed-runner.ts';
import { seedEnvironment } from '../../src/admission/seed-script.ts';

const perDirectory = 100;

/** Image `b` is image `a` with 1% of the files changed and 1% added. */
function writeSmallFileTree(root: string, files: number, variant: 'a' | 'b'): void {
  for (let index = 0; index < files; index += 1) {
    const directory = join(root, `dir-${Math.floor(index / perDirectory)}`);
    if (index % perDirectory === 0) mkdirSync(directory, { recursive: true, mode: index % 1000 === 0 ? 0o700 : 0o755 });
    const changed = variant === 'b' && index % 100 === 0;
    writeFileSync(join(directory, `file-${index}.txt`), `${changed ? 'v2' : 'v1'} file ${index}\n`.repeat(20 + (index % 200)));
    if (variant === 'b' && index % 100 === 1) writeFileSync(join(directory, `added-${index}.txt`), 'new\n');
  }
  symlinkSync('dir-0', join(root, 'link-to-dir'));
  symlinkSync('/etc', join(root, 'absolute-link'));
}

function timedMs(run: () => { status: number | null; stderr: string }): number {
  const started = performance.now();
  const result = run();
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`seed benchmark step failed: ${result.stderr.slice(0, 1000)}`);
  return ms;
}

export interface ShellSeedFigures {
  shell: string;
  tarMs: number[];
  firstMs: number[];
  restartMs: number[];
  mergeMs: number[];
  merge: string;
}

function shellName(shell: SeedShell): string {
  return shell.prefersApplets ? 'static busybox' : shell.busybox ? 'busybox' : 'dash + GNU';
}

export function measureSeedShells(root: string, files: number, rounds: number): ShellSeedFigures[] {
  const imageA = join(root, 'a', 'sandbox');
  const imageB = join(root, 'b', 'sandbox');
  writeSmallFileTree(imageA, files, 'a');
  writeSmallFileTree(imageB, files, 'b');
  const shells = seedShells().filter((shell) => shell.available);
  const figures: ShellSeedFigures[] = [];
  try {
    for (const shell of shells) {
      const tar = shell.busybox ? `'${shell.argv[0]}' tar` : 'tar';
      const entry: ShellSeedFigures = { shell: shellName(shell), tarMs: [], firstMs: [], restartMs: [], mergeMs: [], merge: '' };
      for (let round = 0; round < rounds; round += 1) {
        const plain = join(root, `plain-${round}`);
        const target = join(root, `volume-${round}`);
        mkdirSync(plain);
        mkdirSync(target);
        entry.tarMs.push(timedMs(() => spawnSync('/bin/sh', ['-c', `cd '${imageA}' && ${tar} -cf - . | (cd '${plain}' && ${tar} -xpf -)`], { encoding: 'utf8' })));
        const env = (image: string, reference: string) => ({
          [seedEnvironment.source]: image,
          [seedEnvironment.target]: target,
          [seedEnvironment.sentinel]: '.sandbox-storage-seeded',
          [seedEnvironment.image]: reference,
        });
        entry.firstMs.push(timedMs(() => runSeedScript(shell, env(imageA, 'sandbox:1'))));
        entry.restartMs.push(timedMs(() => runSeedScript(shell, env(imageA, 'sandbox:1'))));
        let merged = { status: 0 as number | null, stderr: '', stdout: '' };
        entry.mergeMs.push(timedMs(() => (merged = runSeedScript(shell, env(imageB, 'sandbox:2')))));
        const summary = seedSummary(merged.stdout);
        entry.merge = `added ${summary.added}, updated ${summary.updated}`;
        rmSync(plain, { recursive: true, force: true });
        rmSync(target, { recursive: true, force: true });
      }
      figures.push(entry);
    }
  } finally {
    for (const shell of shells) shell.dispose();
  }
  return figures;
}
