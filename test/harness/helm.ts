// The helm CLI built from the pinned Go module (test/helm/build.sh), run with throwaway config/cache dirs so it
// never reads or writes the user's helm state.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const chartDirectory = fileURLToPath(new URL('../../deploy/helm/sandbox-storage-webhook', import.meta.url));
export const installManifest = fileURLToPath(new URL('../../deploy/install.yaml', import.meta.url));
export const chartCrd = fileURLToPath(
  new URL('../../deploy/helm/sandbox-storage-webhook/crds/sandbox-storage.io_sandboxstoragepolicies.yaml', import.meta.url),
);
const buildScript = fileURLToPath(new URL('../helm/build.sh', import.meta.url));

/** The release every rendering uses: its name and namespace are the ones deploy/manifests ships. */
export const release = { name: 'sandbox-storage-webhook', namespace: 'sandbox-storage-system' };

/** How install.yaml is rendered: the chart defaults, plus the Namespace object and the CRD. */
export const installManifestValues = ['--set', 'namespace.create=true', '--include-crds'];

let helmPromise: Promise<string> | undefined;

/** Path of the helm binary: $SANDBOX_STORAGE_HELM_BIN, or built/cached by test/helm/build.sh. */
export function resolveHelm(): Promise<string> {
  helmPromise ??= process.env.SANDBOX_STORAGE_HELM_BIN
    ? Promise.resolve(process.env.SANDBOX_STORAGE_HELM_BIN)
    : new Promise((resolve, reject) => {
        execFile('bash', [buildScript], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
          const path = stdout.trim().split('\n').at(-1);
          if (error || !path) reject(new Error(`bash ${buildScript} failed: ${error?.message ?? 'no output'}\n${stderr}`));
          else resolve(path);
        });
      });
  return helmPromise;
}

export interface HelmResult {
  stdout: string;
  stderr: string;
  code: number;
}

let helmHome: string | undefined;

export async function helm(args: string[]): Promise<HelmResult> {
  const binary = await resolveHelm();
  helmHome ??= mkdtempSync(join(tmpdir(), 'sandbox-storage-helm-'));
  const env = {
    ...process.env,
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  };
  return new Promise((resolve) => {
    execFile(binary, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });
}

/** `helm template` of the chart for the standard release; throws with helm's message on failure. */
export async function renderChart(valueArgs: string[] = []): Promise<string> {
  const result = await helm(['template', release.name, chartDirectory, '--namespace', release.namespace, ...valueArgs]);
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}
