// The product's image without Docker or a registry: the Dockerfile's stages done on this host (npm pack, which
// compiles; the tarball extracted as /app; `npm ci --omit=dev --ignore-scripts` there), then
// test/node/make-product-image.py writes the final stage as an OCI archive with the Node runtime of the `node`
// devDependency. Cached by the content of everything that goes in, so a change to src/ builds a new image, under a
// tag naming that content.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeCacheRoot, resolveNodeTools } from './real-node.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const builder = join(root, 'test/node/make-product-image.py');
const nodeRuntime = join(root, 'node_modules/node/bin/node');
/** What the Dockerfile's build stage copies in. */
const buildInputs = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src'];
export const productImageRepository = 'localhost/sandbox-storage-e2e/sandbox-storage-webhook';

export interface ProductImage {
  /** repository:tag, as containerd knows it after the import. */
  reference: string;
  repository: string;
  tag: string;
  archive: string;
  /** Whether this call built it (false: from the cache). */
  built: boolean;
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function filesBelow(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort();
}

export async function buildProductImage(log: (line: string) => void): Promise<ProductImage> {
  const busybox = join(await resolveNodeTools(log), 'busybox');
  const key = createHash('sha256');
  const inputs = [builder, join(root, 'test/node/make-images.py'), nodeRuntime, busybox];
  for (const input of buildInputs) inputs.push(...(input === 'src' ? await filesBelow(join(root, 'src')) : [join(root, input)]));
  for (const file of inputs) key.update(`${relative(root, file)}\0`).update(await readFile(file)).update('\0');
  const tag = key.digest('hex').slice(0, 12);
  const outDir = join(nodeCacheRoot(), `product-image-${tag}`);
  const archive = join(outDir, `sandbox-storage-webhook-${tag}.oci.tar`);
  const image = { reference: `${productImageRepository}:${tag}`, repository: productImageRepository, tag, archive };
  if (existsSync(join(outDir, 'complete'))) return { ...image, built: false };

  log(`building the product image ${image.reference}`);
  // One product image in the cache: the previous ones are of sources that changed since.
  await mkdir(nodeCacheRoot(), { recursive: true });
  for (const entry of await readdir(nodeCacheRoot())) {
    if (entry.startsWith('product-image-')) await rm(join(nodeCacheRoot(), entry), { recursive: true, force: true });
  }
  const work = await mkdtemp(join(tmpdir(), 'sandbox-storage-product-image-'));
  try {
    // The build stage: the sources only, compiled by npm pack's prepack with the project's own compiler.
    const buildDir = join(work, 'build');
    await mkdir(buildDir);
    for (const input of buildInputs) await cp(join(root, input), join(buildDir, input), { recursive: true });
    await symlink(join(root, 'node_modules'), join(buildDir, 'node_modules'));
    const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', work], buildDir)) as Array<{ filename: string }>;
    // The production-dependencies stage.
    const appDir = join(work, 'app');
    await mkdir(appDir);
    await run('tar', ['-xzf', join(work, packed[0]!.filename), '-C', appDir, '--strip-components=1'], work);
    await cp(join(root, 'package-lock.json'), join(appDir, 'package-lock.json'));
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], appDir);
    await run('python3', [builder, outDir, tag, appDir, nodeRuntime, busybox], work);
    await writeFile(join(outDir, 'complete'), '');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { ...image, built: true };
}
