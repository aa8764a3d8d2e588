// Runs the seed script for real: under /bin/sh (dash) with the system's tools, under busybox sh with every tool the
// script uses taken from busybox (a directory of applet symlinks first in PATH), and under a static busybox whose shell
// runs its own applets before anything in PATH (as in busybox-static images: `tar` is busybox's even if PATH says not).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedScript } from '../../src/admission/seed-script.ts';

/** Every external tool the seed script calls. */
export const seedTools = [
  'sh', 'tar', 'chown', 'date', 'mv', 'rm', 'id', 'cat', 'find', 'stat', 'xargs', 'awk', 'tr', 'cut', 'grep', 'head',
  'wc', 'readlink', 'sha256sum', 'md5sum', 'mkdir', 'chmod', 'cp', 'cksum', 'ln',
];

export interface SeedShell {
  label: string;
  /** argv before `-c <script>`. */
  argv: string[];
  /** Directory put first in PATH (busybox applets), if any. */
  binDir?: string;
  available: boolean;
  busybox: boolean;
  /** The shell runs its own applets before PATH lookups, so PATH wrappers around the tools are never called. */
  prefersApplets: boolean;
  dispose(): void;
}

/**
 * Set to 1 (CI does) to make an unavailable shell variant a failure instead of a skipped suite; see
 * `missingShellVariants`.
 */
export const requireAllShellsVariable = 'SEED_REQUIRE_ALL_SHELLS';

export function findBusybox(): string | undefined {
  const found = spawnSync('/bin/sh', ['-c', 'command -v busybox'], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : '';
  return path.startsWith('/') ? path : undefined;
}

const repositoryRoot = new URL('../..', import.meta.url).pathname;

/**
 * The static busybox extracted (never installed: the package would replace busybox) by
 * `apt-get download busybox-static && dpkg-deb -x busybox-static_*.deb .cache/busybox-static`; BUSYBOX_STATIC overrides.
 */
export function findStaticBusybox(): string | undefined {
  const path = process.env.BUSYBOX_STATIC ?? join(repositoryRoot, '.cache/busybox-static/bin/busybox');
  if (!existsSync(path)) return undefined;
  // Only a busybox whose shell runs its applets first is the variant this stands for.
  const probe = spawnSync(path, ['sh', '-c', 'PATH=/nonexistent; tar --help 2>&1 | head -n 1'], { encoding: 'utf8' });
  return probe.stdout.startsWith('BusyBox') ? path : undefined;
}

/** A directory of applet symlinks, as /bin is in a busybox image. */
function appletDirectory(busybox: string): string {
  const binDir = mkdtempSync(join(tmpdir(), 'seed-busybox-'));
  chmodSync(binDir, 0o755);
  for (const tool of seedTools) symlinkSync(busybox, join(binDir, tool));
  // A busybox image has no openssl: as `openssl`, busybox fails (no such applet), so the seed hashes with its sha256sum.
  symlinkSync(busybox, join(binDir, 'openssl'));
  return binDir;
}

function busyboxShell(busybox: string | undefined, label: string, missing: string, prefersApplets: boolean): SeedShell {
  const binDir = busybox ? appletDirectory(busybox) : undefined;
  return {
    label: busybox ? `${label} (${busybox})` : `${label} — SKIPPED: ${missing}`,
    argv: [busybox ?? 'busybox', 'sh'],
    ...(binDir ? { binDir } : {}),
    available: busybox !== undefined,
    busybox: true,
    prefersApplets,
    dispose() {
      if (binDir) rmSync(binDir, { recursive: true, force: true });
    },
  };
}

export function seedShells(): SeedShell[] {
  const shells: SeedShell[] = [
    { label: '/bin/sh (dash) with GNU tools', argv: ['/bin/sh'], available: true, busybox: false, prefersApplets: false, dispose() {} },
    busyboxShell(findBusybox(), 'busybox sh with busybox tools', 'busybox is not installed (apt-get install -y busybox)', false),
    busyboxShell(
      findStaticBusybox(),
      'static busybox sh preferring its applets',
      'no static busybox at .cache/busybox-static/bin/busybox or $BUSYBOX_STATIC (apt-get download busybox-static && dpkg-deb -x busybox-static_*.deb .cache/busybox-static)',
      true,
    ),
  ];
  for (const shell of shells) if (!shell.available) console.warn(`seed tests: ${shell.label}`);
  return shells;
}

/** Labels of the unavailable variants: an error when SEED_REQUIRE_ALL_SHELLS=1 (CI), otherwise reported as SKIPPED. */
export function missingShellVariants(shells: SeedShell[]): string[] {
  return shells.filter((shell) => !shell.available).map((shell) => shell.label);
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
