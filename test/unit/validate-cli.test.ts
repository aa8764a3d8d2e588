import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'sandbox-storage-validate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const cli = (args: string[]) => spawnSync(process.execPath, [join(root, 'src/cli.ts'), ...args], { cwd: root, encoding: 'utf8' });

describe('sandbox-storage validate', () => {
  it('accepts valid files and names their policies', () => {
    const result = cli(['validate', 'examples/shared-policy.yaml']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('examples/shared-policy.yaml: 1 valid policy (shared-home)\n');
  });

  it('reports every problem of every file and exits 1', () => {
    const bad = join(scratch, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: bad}\nspec:\n  mode: shared\n  workspace: {size: "0Gi"}\n');
    const result = cli(['validate', 'examples/shared-policy.yaml', bad]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('examples/shared-policy.yaml: 1 valid policy (shared-home)\n');
    expect(result.stderr).toContain('spec.shared.claimName: Invalid value: shared mode needs the name of an existing PVC');
    expect(result.stderr).toContain('spec.workspace.size: Invalid value: "0Gi": must be greater than zero');
  });

  it('exits 2 without files', () => {
    const result = cli(['validate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('give at least one policy file');
  });
});
