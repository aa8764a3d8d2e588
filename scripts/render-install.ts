// Regenerates deploy/install.yaml from the Helm chart (the chart is the one source of truth).
// `npm run render:install`; a test fails when the committed file differs from a fresh rendering.
import { copyFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chartCrd, installManifest, installManifestValues, renderChart } from '../test/harness/helm.ts';

/** The CRD is generated into deploy/crds/ (npm run generate); the chart carries a copy, which a test compares. */
export const generatedCrd = fileURLToPath(new URL('../deploy/crds/sandbox-storage.io_sandboxstoragepolicies.yaml', import.meta.url));

export const installManifestHeader = `# sandbox-storage-webhook: everything in one file, for \`kubectl apply --server-side -f install.yaml\`.
# Generated from the Helm chart deploy/helm/sandbox-storage-webhook with its default values (plus the Namespace
# and the CRD):
# do not edit; run \`npm run render:install\`.
`;

export async function renderInstallManifest(): Promise<string> {
  return installManifestHeader + (await renderChart(installManifestValues));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  copyFileSync(generatedCrd, chartCrd);
  writeFileSync(installManifest, await renderInstallManifest());
  process.stdout.write(`wrote ${installManifest}\n`);
}
