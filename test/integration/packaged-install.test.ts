// What the Dockerfile does, without Docker: compile, npm pack, install the production dependency set from the
// tarball with the lockfile, then run the image's exact ENTRYPOINT until /readyz answers, and stop it with SIGTERM.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeServingCertificate, type ServingCertificate } from '../harness/tls.ts';
import { startWebhookProcess } from '../harness/webhook-process.ts';

const root = new URL('../..', import.meta.url).pathname;
const dockerfile = readFile(join(root, 'Dockerfile'), 'utf8');

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

let workDir: string;
let appDir: string;
let tarball: string;
let tls: ServingCertificate;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'sandbox-storage-package-'));
  tls = await writeServingCertificate();
  // The build stage: sources only (as .dockerignore leaves them), compiled with the project's own compiler.
  const buildDir = join(workDir, 'build');
  await mkdir(buildDir);
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src']) {
    await cp(join(root, entry), join(buildDir, entry), { recursive: true });
  }
  await symlink(join(root, 'node_modules'), join(buildDir, 'node_modules'));
  // npm pack builds first, as the Dockerfile does (the prepack script runs the project's build: the compiler, and
  // the seed script copied beside its module), so a tarball packed from a checkout has its bin.
  const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', workDir], buildDir)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  await rm(join(buildDir, 'node_modules'));
  tarball = join(workDir, packed[0]!.filename);
  packedFiles = packed[0]!.files.map((file) => file.path);
  // The production-dependencies stage.
  appDir = join(workDir, 'app');
  await mkdir(appDir);
  await run('tar', ['-xzf', tarball, '-C', appDir, '--strip-components=1'], workDir);
  await cp(join(root, 'package-lock.json'), join(appDir, 'package-lock.json'));
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], appDir);
}, 300_000);

let packedFiles: string[] = [];

afterAll(async () => {
  await tls?.remove();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the packaged webhook (what the image contains)', () => {
  it('packs compiled JavaScript only', () => {
    expect(packedFiles).toContain('dist/src/cli.js');
    const unexpected = packedFiles.filter((path) => !(path.startsWith('dist/src/') || ['package.json', 'README.md', 'LICENSE'].includes(path)));
    expect(unexpected).toEqual([]);
    expect(packedFiles.filter((path) => path.endsWith('.ts'))).toEqual([]);
  });

  it('installs the same production dependency set the Dockerfile installs, without development tools', async () => {
    expect(await dockerfile).toContain('RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund');
    const installed = await readdir(join(appDir, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['fast-json-patch', 'pino', 'prom-client', '@kubernetes', '@peculiar', 'yaml']));
    for (const devTool of ['typescript', 'vitest', 'fast-check', 'node']) expect(installed).not.toContain(devTool);
  });

  it("runs the tarball's bin through npx, with nothing but the document on stdout", async () => {
    const npx = (args: string[]) => run('npm', ['exec', '--yes', '--prefer-offline', '--package', tarball, '--', 'sandbox-storage', ...args], workDir);
    expect(await npx(['review', '--help'])).toMatch(/^Usage: sandbox-storage review /);
    // What `review --output pod … | kubectl apply -f -` reads: the mutated Pod as JSON, no banner or notice around it.
    const pod = JSON.parse(await npx(['review', '--pod', join(root, 'examples/sandbox-pod.yaml'), '--output', 'pod'])) as { kind?: string; spec?: { volumes?: unknown[] } };
    expect(pod.kind).toBe('Pod');
    expect(pod.spec?.volumes?.length).toBeGreaterThan(0);
  });

  it('runs the image ENTRYPOINT to /readyz and exits 0 on SIGTERM', async () => {
    const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(await dockerfile)![1]!) as string[];
    expect(entrypoint).toEqual(['node', '/app/dist/src/cli.js']);
    // The image's /app is appDir here, and `node` is the pinned LTS running this test.
    const [, script] = entrypoint;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, NODE_ENV: 'production', HOME: workDir };
    const webhook = startWebhookProcess(
      process.execPath,
      [script!.replace('/app', appDir), 'serve', `--tls-cert-file=${tls.certFile}`, `--tls-key-file=${tls.keyFile}`, '--host=127.0.0.1', '--port=0', '--metrics-host=127.0.0.1', '--metrics-port=0'],
      { cwd: appDir, env },
    );
    try {
      const port = await webhook.listening;
      const status = await new Promise<number>((resolve, reject) => {
        const ready = request({ host: '127.0.0.1', port, path: '/readyz', ca: tls.caPem, agent: false }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        ready.on('error', reject);
        ready.end();
      });
      expect(status).toBe(200);
      expect(await webhook.stop()).toBe(0);
      expect(webhook.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(['policies loaded', 'shutting down', 'webhook server stopped']));
      expect(webhook.stderr()).toBe('');
    } finally {
      await webhook.stop(1_000);
    }
  });
});
