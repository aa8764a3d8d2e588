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

  it('names the file, the document, the policy and the field, one problem a line', () => {
    const policies = join(scratch, 'policies.yaml');
    writeFileSync(
      policies,
      'apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: ok}\n---\n' +
        'apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: x}\nspec:\n  mode: shared\n' +
        '  shared: {claimName: team, mounts: [{subPath: "../{user}", mountPath: /sandbox}]}\n',
    );
    const result = cli(['validate', policies]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `${policies}: document 2 (SandboxStoragePolicy "x"): spec.shared.mounts[0].subPath: Invalid value: "../{user}": must not contain empty, '.' or '..' segments\n`,
    );
  });

  it('gives file:line:col for YAML syntax errors', () => {
    const broken = join(scratch, 'broken.yaml');
    writeFileSync(broken, 'apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: y\nspec: {}\n');
    const result = cli(['validate', broken]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`${broken}:4:1: Flow map in block collection must be sufficiently indented and end with a }\n`);
  });

  it('says when a file cannot be read: missing, or a directory', () => {
    const missing = join(scratch, 'missing.yaml');
    const result = cli(['validate', missing, scratch]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`${missing}: cannot read: ENOENT: no such file or directory\n${scratch}: cannot read: EISDIR: illegal operation on a directory, read\n`);
  });

  it('hostile names and keys cannot forge report lines', () => {
    const hostile = join(scratch, 'hostile.yaml');
    // A name and an unknown key that carry a newline and a fake "valid" line, and a terminal escape.
    writeFileSync(
      hostile,
      'apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\n' +
        'metadata: {name: "evil\\nother.yaml: 1 valid policy (fine)\\u001b[2J"}\n"spec\\nforged: line": 1\n',
    );
    const result = cli(['validate', hostile]);
    expect(result.status).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    // Every line of the report is one of this document's problems; none is an attacker's line.
    for (const line of lines) expect(line.startsWith(`${hostile}: document 1 (SandboxStoragePolicy "evil\\nother.yaml: 1 valid policy (fine)\\u001b[2J"): `)).toBe(true);
    expect(lines).toContain(`${hostile}: document 1 (SandboxStoragePolicy "evil\\nother.yaml: 1 valid policy (fine)\\u001b[2J"): "spec\\nforged: line": Unknown field: field not declared in schema`);
    expect(result.stderr).not.toContain('\u001b');
  });

  it('an alias bomb is refused with its place, not expanded', () => {
    const bomb = join(scratch, 'bomb.yaml');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let level = 1; level < 9; level += 1) levels.push(`${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(9).fill(`*${String.fromCharCode(96 + level)}`).join(',')}]`);
    writeFileSync(bomb, `${levels.join('\n')}\n`);
    const result = cli(['validate', bomb]);
    expect(result.status).toBe(1);
    expect(result.stderr.startsWith(`${bomb}:1:1: `)).toBe(true);
    expect(result.stderr).toMatch(/alias/i);
  });

  it('exits 2 without files', () => {
    const result = cli(['validate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('give at least one policy file');
  });
});
