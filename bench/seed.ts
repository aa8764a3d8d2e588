// Seed time for a 10,000-file tree against plain `tar | tar` on the same tree in the same run, under dash with GNU
// tools and under busybox (and a static busybox, when extracted). Run: `npx node bench/seed.ts [files] [repetitions]`. Prints a table of medians.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSeedScript, seedShells, seedSummary, type SeedShell } from '../test/harness/seed-runner.ts';

const fileCount = Number(process.argv[2] ?? 10_000);
const repetitions = Number(process.argv[3] ?? 3);
const perDirectory = 100;

function buildTree(root: string, variant: 'a' | 'b'): number {
  let bytes = 0;
  for (let index = 0; index < fileCount; index += 1) {
    const directory = join(root, `dir-${Math.floor(index / perDirectory)}`);
    if (index % perDirectory === 0) mkdirSync(directory, { recursive: true, mode: index % 1000 === 0 ? 0o700 : 0o755 });
    // Image b changes 1% of the files and adds 1% new ones.
    const changed = variant === 'b' && index % 100 === 0;
    const content = `${changed ? 'v2' : 'v1'} file ${index}\n`.repeat(20 + (index % 200));
    writeFileSync(join(directory, `file-${index}.txt`), content);
    bytes += content.length;
    if (variant === 'b' && index % 100 === 1) writeFileSync(join(directory, `added-${index}.txt`), 'new\n');
  }
  symlinkSync('dir-0', join(root, 'link-to-dir'));
  symlinkSync('/etc', join(root, 'absolute-link'));
  return bytes;
}

/** Runs `command` under a shell that reports its children's CPU time (`times`), so a busy machine skews less. */
const withCpuTimes = ['/bin/sh', '-c', '"$@"; rc=$?; times >&2; exit $rc', 'bench'];

function seconds(text: string): number {
  const match = /^(\d+)m([\d.]+)s$/.exec(text);
  return match ? Number(match[1]) * 60 + Number(match[2]) : Number.NaN;
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

function timed(run: () => { status: number | null; stderr: string }): Sample {
  const started = process.hrtime.bigint();
  const result = run();
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`benchmark step failed: ${result.stderr}`);
  const children = result.stderr.trim().split('\n').at(-1)?.split(' ') ?? [];
  return { wallMs, cpuMs: (seconds(children[0] ?? '') + seconds(children[1] ?? '')) * 1000 };
}

function median(values: Sample[], key: keyof Sample): number {
  const sorted = values.map((value) => value[key]).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const root = mkdtempSync(join(tmpdir(), 'seed-bench-'));
console.log(`working directory: ${tmpdir()} (set TMPDIR to measure another filesystem)`);
const shells = seedShells().filter((shell) => shell.available);
try {
  const imageA = join(root, 'a', 'sandbox');
  const imageB = join(root, 'b', 'sandbox');
  const bytes = buildTree(imageA, 'a');
  buildTree(imageB, 'b');
  console.log(`tree: ${fileCount} files in ${fileCount / perDirectory} directories, ${(bytes / 1e6).toFixed(1)} MB; median of ${repetitions}`);
  const rows: string[][] = [];

  for (const shell of shells) {
    const tarCommand = shell.busybox ? `${shell.argv[0]} tar` : 'tar';
    const samples: Record<string, Sample[]> = { tar: [], first: [], noop: [], merge: [] };
    let mergeSummary = '';
    for (let repetition = 0; repetition < repetitions; repetition += 1) {
      const plain = join(root, `plain-${repetition}`);
      const target = join(root, `volume-${repetition}`);
      mkdirSync(plain);
      mkdirSync(target);
      samples.tar!.push(
        timed(() =>
          spawnSync('/bin/sh', ['-c', `cd '${imageA}' && ${tarCommand} -cf - . | (cd '${plain}' && ${tarCommand} -xpf -); times >&2`], { encoding: 'utf8' }),
        ),
      );
      const env = (image: string, ref: string) => ({ SEED_SOURCE: image, SEED_TARGET: target, SEED_SENTINEL: '.sandbox-storage-seeded', SEED_IMAGE: ref });
      samples.first!.push(timed(() => runSeedScript(shell, env(imageA, 'sandbox:1'), { wrapper: withCpuTimes })));
      samples.noop!.push(timed(() => runSeedScript(shell, env(imageA, 'sandbox:1'), { wrapper: withCpuTimes })));
      let merged = { status: 0 as number | null, stderr: '', stdout: '' };
      samples.merge!.push(timed(() => (merged = runSeedScript(shell, env(imageB, 'sandbox:2'), { wrapper: withCpuTimes }))));
      const summary = seedSummary(merged.stdout);
      mergeSummary = `added ${summary.added}, updated ${summary.updated}`;
      rmSync(plain, { recursive: true, force: true });
      rmSync(target, { recursive: true, force: true });
    }
    const label = (shell: SeedShell): string => (shell.prefersApplets ? 'static busybox' : shell.busybox ? 'busybox' : 'dash + GNU');
    const row = (step: string, key: string) => {
      const wall = median(samples[key]!, 'wallMs');
      const cpu = median(samples[key]!, 'cpuMs');
      const ratio = (value: number, base: number) => (key === 'noop' ? '' : `${(value / base).toFixed(1)}x`);
      rows.push([label(shell), step, wall.toFixed(0), ratio(wall, median(samples.tar!, 'wallMs')), cpu.toFixed(0), ratio(cpu, median(samples.tar!, 'cpuMs'))]);
    };
    row('tar -c \\| tar -x (baseline)', 'tar');
    row('first seed (copy + manifest)', 'first');
    row('restart, same image', 'noop');
    row(`upgrade merge (${mergeSummary})`, 'merge');
  }
  console.log('| shell | step | wall ms | wall vs tar | CPU ms | CPU vs tar |\n| --- | --- | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  shells.forEach((shell) => shell.dispose());
  rmSync(root, { recursive: true, force: true });
}
