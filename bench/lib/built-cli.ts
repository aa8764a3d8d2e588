// The product as the image runs it: the JavaScript `tsc -p tsconfig.build.json` emits (what `npm run build` puts in
// dist/), compiled fresh from the current sources into the run's scratch directory. Running src/cli.ts through
// Node's type stripping instead would measure a process users do not run (more memory, slower start).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repositoryRoot } from './servers.ts';

/** Every non-TypeScript file of src/ that the code reads at run time (the shell scripts), as `npm run build` copies them. */
function runtimeAssets(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return runtimeAssets(path);
    return entry.name.endsWith('.sh') ? [path] : [];
  });
}

/** Compiles the CLI into `<workDir>/build` and returns the path of its `cli.js`. */
export function buildCli(workDir: string): string {
  const root = join(workDir, 'build');
  const outDir = join(root, 'dist');
  mkdirSync(root, { recursive: true });
  // Packages resolve by walking up from the importing file: the repository's node_modules, as in the image's /app.
  symlinkSync(join(repositoryRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
  const tsc = join(repositoryRoot, 'node_modules', '.bin', 'tsc');
  const result = spawnSync(tsc, ['-p', join(repositoryRoot, 'tsconfig.build.json'), '--outDir', outDir], { cwd: repositoryRoot, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the CLI failed (tsc exit ${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
  const sources = join(repositoryRoot, 'src');
  for (const asset of runtimeAssets(sources)) cpSync(asset, join(outDir, 'src', relative(sources, asset)));
  return join(outDir, 'src', 'cli.js');
}
