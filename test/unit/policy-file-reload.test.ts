import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { watchPolicyFiles } from '../../src/policy/sources/file-source.ts';
import type { PolicySet } from '../../src/policy/sources/policy-set.ts';
import { waitFor } from '../harness/wait.ts';

const policyYaml = (name: string, size: string) =>
  `apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: ${name}}\nspec:\n  workspace: {size: ${size}}\n`;

let directory: string | undefined;
let set: PolicySet | undefined;
afterEach(async () => {
  await set?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe('policy files reload', () => {
  it('applies an edited file, keeps the last good version while it is invalid, and recovers', async () => {
    directory = await mkdtemp(join(tmpdir(), 'sandbox-storage-policies-'));
    const file = join(directory, 'policies.yaml');
    await writeFile(file, policyYaml('team', '1Gi'));
    set = await watchPolicyFiles([file], pino({ level: 'silent' }), 20);
    const sizeOf = () => set!.current()[0]?.spec.workspace.size;
    expect(sizeOf()).toBe('1Gi');
    expect(set.states()).toEqual([{ name: 'team', origin: file, ready: true }]);

    await writeFile(file, policyYaml('team', '3Gi'));
    await waitFor(() => sizeOf() === '3Gi', { description: 'the edited policy to serve', timeoutMs: 20_000 });

    await writeFile(file, policyYaml('team', 'lots'));
    await waitFor(() => set!.states()[0]?.ready === false, { description: 'the invalid edit to be noticed', timeoutMs: 20_000 });
    expect(sizeOf()).toBe('3Gi');
    expect(set.states()[0]?.error).toContain('spec.workspace.size: Invalid value: "lots"');

    // replaced by rename, as editors and ConfigMap volumes do
    await writeFile(join(directory, 'next.tmp'), `${policyYaml('team', '4Gi')}---\n${policyYaml('extra', '1Gi')}`);
    await rename(join(directory, 'next.tmp'), file);
    await waitFor(() => set!.current().length === 2 && set!.states().every((state) => state.ready), {
      description: 'the repaired file to serve both policies',
      timeoutMs: 20_000,
    });
    expect(set.current().map((policy) => [policy.name, policy.spec.workspace.size])).toEqual([
      ['extra', '1Gi'],
      ['team', '4Gi'],
    ]);
  });

  it('refuses to start with an invalid file', async () => {
    directory = await mkdtemp(join(tmpdir(), 'sandbox-storage-policies-'));
    const file = join(directory, 'bad.yaml');
    await writeFile(file, policyYaml('team', 'lots'));
    await expect(watchPolicyFiles([file], pino({ level: 'silent' }))).rejects.toThrow('spec.workspace.size');
  });
});
