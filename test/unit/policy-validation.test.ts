import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { parsePolicies, PolicyLoadError } from '../../src/policy/load.ts';
import { validatePolicyDocument } from '../../src/policy/validate.ts';

const golden = JSON.parse(readFileSync(new URL('../fixtures/golden/default-policy-spec.json', import.meta.url), 'utf8'));

function document(spec: unknown, name = 'p') {
  return { apiVersion: 'sandbox-storage.io/v1alpha1', kind: 'SandboxStoragePolicy', metadata: { name }, spec };
}

function fieldsOf(spec: unknown): string[] {
  return validatePolicyDocument(document(spec)).errors.map((error) => error.field);
}

describe('policy defaults', () => {
  it('resolves an empty spec to the documented defaults (golden file)', () => {
    const result = validatePolicyDocument(document(undefined, 'empty'));
    expect(result.errors).toEqual([]);
    expect(result.policy?.spec).toEqual(golden);
  });

  it('the embedded default policy is exactly the defaults, named "default"', () => {
    const [policy, ...rest] = embeddedDefaultPolicies();
    expect(rest).toEqual([]);
    expect(policy?.name).toBe('default');
    expect(policy?.spec).toEqual(golden);
  });

  it('keeps written values and fills the rest; lists replace defaults as a whole', () => {
    const result = validatePolicyDocument(
      document({ workspace: { size: '10Gi', accessModes: ['ReadWriteOncePod'] }, seed: { enabled: false } }),
    );
    expect(result.errors).toEqual([]);
    expect(result.policy?.spec.workspace).toEqual({ ...golden.workspace, size: '10Gi', accessModes: ['ReadWriteOncePod'] });
    expect(result.policy?.spec.seed).toEqual({ ...golden.seed, enabled: false });
  });
});

describe('policy validation reports every error at once, with its field path', () => {
  it('collects errors across the whole document', () => {
    const result = validatePolicyDocument({
      apiVersion: 'sandbox-storage.io/v1',
      kind: 'SandboxStoragePolicy',
      metadata: { name: 'Bad_Name' },
      spec: {
        mode: 'shared',
        identity: { userLabel: 'same', threadLabel: 'same' },
        podSelector: { matchExpressions: [{ key: 'x', operator: 'In' }] },
        shared: { mounts: [{ subPath: '/abs/{user}', mountPath: 'relative' }] },
        seed: { sentinel: 'a/b' },
        extra: true,
      },
    });
    expect(result.policy).toBeUndefined();
    expect(result.errors.map((error) => error.field)).toEqual([
      'apiVersion',
      'metadata.name',
      'spec.extra',
      'spec.shared.mounts[0].mountPath',
      'spec.seed.sentinel',
      'spec.podSelector.matchExpressions[0].values',
      'spec.identity.threadLabel',
      'spec.shared.mounts[0].subPath',
      'spec.shared.mounts[0].subPath',
      'spec.shared.claimName',
      'spec.seed.path',
    ]);
    expect(result.errors[0]?.message).toBe('Unsupported value: "sandbox-storage.io/v1": supported values: "sandbox-storage.io/v1alpha1"');
    expect(result.errors[2]?.message).toBe('Unknown field: field not declared in schema');
    expect(result.errors[6]?.message).toBe('Invalid value: userLabel and threadLabel must differ');
    expect(result.errors[7]?.message).toBe('Invalid value: "/abs/{user}": must be a relative path');
    expect(result.errors[3]?.message).toBe(
      `Invalid value: "relative": spec.shared.mounts[0].mountPath in body should match '^(/[^/]+)+$'`,
    );
    expect(result.errors[9]?.message).toBe('Invalid value: shared mode needs the name of an existing PVC (a DNS-1123 subdomain)');
  });

  it.each([
    [{ mode: 'nfs' }, ['spec.mode', '<nil>']],
    [{ container: 'Sandbox' }, ['spec.container']],
    [{ workspace: { scope: 'tenant' } }, ['spec.workspace.scope', '<nil>']],
    [{ workspace: { mountPath: '/sandbox/../etc' } }, ['spec.workspace.mountPath', 'spec.seed.path']],
    [{ workspace: { mountPath: '/' } }, ['spec.workspace.mountPath', 'spec.seed.path']],
    [{ workspace: { mountPath: '/data' } }, ['spec.seed.path']],
    [{ workspace: { mountPath: '/data' }, seed: { path: '/data' } }, []],
    [{ workspace: { claimNamePrefix: 'WS-' } }, ['spec.workspace.claimNamePrefix']],
    [{ workspace: { size: '2 GB' } }, ['spec.workspace.size']],
    [{ workspace: { size: '0Gi' } }, ['spec.workspace.size']],
    [{ workspace: { accessModes: [] } }, ['spec.workspace.accessModes']],
    [{ workspace: { accessModes: ['ReadWriteOnce', 'ReadWriteOnce'] } }, ['spec.workspace.accessModes[1]']],
    [{ workspace: { accessModes: ['RWO'] } }, ['spec.workspace.accessModes[0]', '<nil>']],
    [{ workspace: { volumeMode: 'Block' } }, ['spec.workspace.volumeMode', '<nil>']],
    [{ workspace: { accessModes: ['ReadWriteOnce', 'ReadWriteMany', 'ReadOnlyMany', 'ReadWriteOncePod', 'ReadWriteOnce'] } }, ['spec.workspace.accessModes', 'spec.workspace.accessModes[4]', '<nil>']],
    [{ container: 'x'.repeat(64) }, ['spec.container', '<nil>']],
    [{ workspace: { storageClassName: 'Fast SSD' } }, ['spec.workspace.storageClassName']],
    [{ workspace: { size: 2 } }, ['spec.workspace.size', '<nil>']],
    [{ seed: { enabled: 'yes' } }, ['spec.seed.enabled', '<nil>']],
    [{ podSelector: { matchLabels: { 'bad key!': 'x' } } }, ['spec.podSelector.matchLabels']],
    [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } }, ['spec.podSelector.matchExpressions[0].values']],
    [{ namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }, ['spec.namespaceSelector.matchExpressions[0].operator', '<nil>']],
    [{ identity: { userLabel: 'example.com/' } }, ['spec.identity.userLabel']],
  ])('spec %j → errors at %j', (spec, fields) => {
    expect(fieldsOf(spec)).toEqual(fields);
  });

  it.each([
    ['users/{user}/threads/{thread}/user-data', []],
    ['users/u-{user}', []],
    ['{thread}', ['must contain {user}, so that every user gets a directory of their own']],
    ['users/{user}{thread}', ['placeholders are {user} and {thread}, at most one per path segment; no other braces or backslashes']],
    ['users/../{user}', ["must not contain empty, '.' or '..' segments"]],
    ['users/./{user}', ["must not contain empty, '.' or '..' segments"]],
    ['users//{user}', ["must not contain empty, '.' or '..' segments"]],
    ['users/{user}/', ["must not contain empty, '.' or '..' segments"]],
    ['users/{tenant}/{user}', ['placeholders are {user} and {thread}, at most one per path segment; no other braces or backslashes']],
    ['users/{user}/a\\b', ['placeholders are {user} and {thread}, at most one per path segment; no other braces or backslashes']],
    ['users/{user/x', ['must contain {user}, so that every user gets a directory of their own', 'placeholders are {user} and {thread}, at most one per path segment; no other braces or backslashes']],
  ])('shared subPath template %s', (subPath, problems) => {
    const result = validatePolicyDocument(
      document({ mode: 'shared', shared: { claimName: 'shared', mounts: [{ subPath, mountPath: '/sandbox' }] } }),
    );
    expect(result.errors.map((error) => error.message)).toEqual(
      problems.map((problem) => `Invalid value: ${JSON.stringify(subPath)}: ${problem}`),
    );
  });

  it('rejects two shared mounts at the same path and seeding a read-only mount', () => {
    expect(
      fieldsOf({
        mode: 'shared',
        shared: {
          claimName: 'shared',
          mounts: [
            { subPath: 'a/{user}', mountPath: '/sandbox', readOnly: true },
            { subPath: 'b/{user}', mountPath: '/sandbox' },
          ],
        },
      }),
    ).toEqual(['spec.shared.mounts']);
    expect(
      fieldsOf({ mode: 'shared', shared: { claimName: 'shared', mounts: [{ subPath: 'a/{user}', mountPath: '/sandbox', readOnly: true }] } }),
    ).toEqual(['spec.seed.path']);
  });
});

describe('policy files', () => {
  it('reads several policies per file and skips empty documents', () => {
    const text = `---\napiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: a}\n---\n---\napiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: b}\nspec:\n  mode: shared\n  shared: {claimName: data}\n`;
    expect(parsePolicies(text, 'policies.yaml').map((policy) => [policy.name, policy.spec.mode])).toEqual([
      ['a', 'workspace'],
      ['b', 'shared'],
    ]);
  });

  it('names the file, the document and every field error of every document', () => {
    const text = `apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: a}\nspec: {mode: nfs}\n---\napiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: b}\nspec: {workspace: {size: lots}}\n`;
    expect(() => parsePolicies(text, 'p.yaml')).toThrow(PolicyLoadError);
    expect(() => parsePolicies(text, 'p.yaml')).toThrow(
      'p.yaml: document 1 (SandboxStoragePolicy "a"): spec.mode: Unsupported value: "nfs": supported values: "workspace", "shared"\np.yaml: document 1 (SandboxStoragePolicy "a"): <nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation\np.yaml: document 2 (SandboxStoragePolicy "b"): spec.workspace.size: Invalid value: "lots": spec.workspace.size in body should match \'^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][-+]?[0-9]+)?$\'',
    );
  });

  it('rejects duplicate names, YAML syntax errors and files without policies', () => {
    const one = 'apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: a}\n';
    expect(() => parsePolicies(`${one}---\n${one}`, 'dup.yaml')).toThrow('dup.yaml: policy name "a" is used more than once');
    expect(() => parsePolicies('spec: [unclosed', 'broken.yaml')).toThrow(/^broken.yaml:1:\d+: /);
    expect(() => parsePolicies('', 'empty.yaml')).toThrow('empty.yaml: no SandboxStoragePolicy found');
  });
});
