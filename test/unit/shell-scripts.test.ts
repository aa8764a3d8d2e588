// The shipped shell scripts (kind recipe, tool builds, CI entry point) are shellcheck-clean. The kind recipe cannot
// run here (no Docker engine), so lint plus these structural checks are what keeps it honest.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const root = new URL('../..', import.meta.url).pathname;
const scripts = [
  'src/seed/seed.sh',
  'src/migrate/copy.sh',
  'src/migrate/inventory.sh',
  'deploy/kind/up.sh',
  'deploy/kind/down.sh',
  'test/helm/build.sh',
  'test/controlplane/build.sh',
  'test/node/build.sh',
  'test/node/prerequisites.sh',
  'test/node/node-namespace.sh',
  'test/node/cni-lo-eth0',
  '.ci/run',
];

describe('shell scripts', () => {
  it('pass shellcheck', () => {
    const result = spawnSync('shellcheck', ['-x', ...scripts], { cwd: root, encoding: 'utf8' });
    if (result.error) throw new Error(`shellcheck is needed (apt-get install shellcheck): ${result.error.message}`);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('kind recipe: the cluster config and the chart it installs exist, the e2e suite it runs is wired', () => {
    const cluster = parseYaml(readFileSync(join(root, 'deploy/kind/cluster.yaml'), 'utf8')) as { kind: string; nodes: Array<{ role: string }> };
    expect(cluster.kind).toBe('Cluster');
    expect(cluster.nodes.filter((node) => node.role === 'worker').length).toBeGreaterThanOrEqual(2);
    const up = readFileSync(join(root, 'deploy/kind/up.sh'), 'utf8');
    expect(up).toContain('deploy/kind/cluster.yaml');
    expect(up).toContain('deploy/helm/sandbox-storage-webhook');
    expect(up).toContain('kind load docker-image');
    const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(up).toContain('npm run test:e2e');
    expect(packageJson.scripts['test:e2e']).toContain('vitest.e2e.config.ts');
  });
});
