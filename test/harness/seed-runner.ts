// Runs the seed script for real: under /bin/sh (dash) with the system's tools, or under busybox sh with every tool the
// script uses taken from busybox (a directory of applet symlinks first in PATH).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedScript } from '../../src/admission/seed-script.ts';

/** Every external tool the seed script calls. */
export const seedTools = [
  'sh', 'tar', 'chown', 'date', 'mv', 'rm', 'id', 'cat', 'find', 'stat', 'xargs', 'awk', 'tr', 'cut', 'grep', 'head',
  'wc', 'readlink', 'sha256sum', 'md5sum', 'mkdir', 'chmod',
];

export interface SeedShell {
  label: string;
  /** argv before `-c <script>`. */
  argv: string[];
  /** Directory put first in PATH (busybox applets), if any. */
  binDir?: string;
  available: boolean;
  busybox: boolean;
  dispose(): void;
}

export function findBusybox(): string | undefined {
  const found = spawnSync('/bin/sh', ['-c', 'command -v busybox'], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : '';
  return path.startsWith('/') ? path : undefined;
}

export function seedShells(): SeedShell[] {
  const busybox = findBusybox();
  let binDir: string | undefined;
  if (busybox) {
    binDir = mkdtempSync(join(tmpdir(), 'seed-busybox-'));
    chmodSync(binDir, 0o755);
    for (const tool of seedTools) symlinkSync(busybox, join(binDir, tool));
    // A busybox image has no openssl: as `openssl`, busybox fails (no such applet), so the seed hashes with its sha256sum.
    symlinkSync(busybox, join(binDir, 'openssl'));
  }
  return [
    { label: '/bin/sh (dash) with GNU tools', argv: ['/bin/sh'], available: true, busybox: false, dispose() {} },
    {
      label: busybox ? 'busybox sh with busybox tools' : 'busybox — SKIPPED: not installed (apt-get install -y busybox)',
      argv: [busybox ?? 'busybox', 'sh'],
      ...(binDir ? { binDir } : {}),
      available: busybox !== undefined,
      busybox: true,
      dispose() {
        if (binDir) rmSync(binDir, { recursive: true, force: true });
      },
    },
  ];
}

export interface SeedRunOptions {
  /** Command prefix, e.g. `['setpriv', '--reuid', '1234', ...]` or `['timeout', '-s', 'KILL', '0.1']`. */
  wrapper?: string[];
  timeoutMs?: number;
}

export function runSeedScript(
  shell: SeedShell,
  env: Record<string, string | undefined>,
  options: SeedRunOptions = {},
): SpawnSyncReturns<string> {
  const path = [...(shell.binDir ? [shell.binDir] : []), process.env.PATH ?? '/usr/bin:/bin'];
  const fullEnv: Record<string, string> = { PATH: path.join(':'), LC_ALL: 'C' };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) fullEnv[key] = value;
  const argv = [...(options.wrapper ?? []), ...shell.argv, '-c', seedScript];
  const result = spawnSync(argv[0] as string, argv.slice(1), { env: fullEnv, encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 });
  if (result.error) throw result.error;
  return result;
}

export function describeRun(result: SpawnSyncReturns<string>): string {
  return `exit ${result.status} signal ${result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

/** The counts of the summary line: added, updated, kept, skipped, bytes copied. */
export function seedSummary(stdout: string): { added: number; updated: number; kept: number; skipped: number; bytes: number; ms: number } {
  const match = /: added (\d+), updated (\d+), kept (\d+), skipped (\d+), (\d+) bytes copied, (\d+) ms\n$/.exec(stdout);
  if (!match) throw new Error(`no summary line in: ${stdout}`);
  const [, added, updated, kept, skipped, bytes, ms] = match.map(Number);
  return { added: added!, updated: updated!, kept: kept!, skipped: skipped!, bytes: bytes!, ms: ms! };
}
