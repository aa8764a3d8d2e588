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
      'spec.podSelector.matchExpressions[0].values',
      'spec.identity.threadLabel',
      'spec.shared.claimName',
      'spec.shared.mounts[0].subPath',
      'spec.shared.mounts[0].mountPath',
      'spec.seed.path',
      'spec.seed.sentinel',
    ]);
    expect(result.errors[0]?.message).toBe('Unsupported value: "sandbox-storage.io/v1": supported values: "sandbox-storage.io/v1alpha1"');
    expect(result.errors[2]?.message).toMatch(/^Unknown field: supported fields are namespaceSelector, podSelector/);
    expect(result.errors[5]?.message).toBe('Required value: shared mode mounts an existing PVC');
    expect(result.errors[6]?.message).toBe('Invalid value: "/abs/{user}": must be a relative path');
  });

  it.each([
    [{ mode: 'nfs' }, ['spec.mode']],
    [{ container: 'Sandbox' }, ['spec.container']],
    [{ workspace: { scope: 'tenant' } }, ['spec.workspace.scope']],
    [{ workspace: { mountPath: '/sandbox/../etc' } }, ['spec.workspace.mountPath', 'spec.seed.path']],
    [{ workspace: { mountPath: '/' } }, ['spec.workspace.mountPath', 'spec.seed.path']],
    [{ workspace: { mountPath: '/data' } }, ['spec.seed.path']],
    [{ workspace: { mountPath: '/data' }, seed: { path: '/data' } }, []],
    [{ workspace: { claimNamePrefix: 'WS-' } }, ['spec.workspace.claimNamePrefix']],
    [{ workspace: { size: '2 GB' } }, ['spec.workspace.size']],
    [{ workspace: { size: '0Gi' } }, ['spec.workspace.size']],
    [{ workspace: { accessModes: [] } }, ['spec.workspace.accessModes']],
    [{ workspace: { accessModes: ['ReadWriteOnce', 'ReadWriteOnce'] } }, ['spec.workspace.accessModes[1]']],
    [{ workspace: { accessModes: ['RWO'] } }, ['spec.workspace.accessModes[0]']],
    [{ workspace: { volumeMode: 'Block' } }, ['spec.workspace.volumeMode']],
    [{ workspace: { storageClassName: 'Fast SSD' } }, ['spec.workspace.storageClassName']],
    [{ workspace: { size: 2 } }, ['spec.workspace.size']],
    [{ seed: { enabled: 'yes' } }, ['spec.seed.enabled']],
    [{ podSelector: { matchLabels: { 'bad key!': 'x' } } }, ['spec.podSelector.matchLabels']],
    [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } }, ['spec.podSelector.matchExpressions[0].values']],
    [{ namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }, ['spec.namespaceSelector.matchExpressions[0].operator']],
    [{ identity: { userLabel: 'example.com/' } }, ['spec.identity.userLabel']],
  ])('spec %j → errors at %j', (spec, fields) => {
    expect(fieldsOf(spec)).toEqual(fields);
  });

  it.each([
    ['users/{user}/threads/{thread}/user-data', []],
    ['users/u-{user}', []],
    ['{thread}', ['must contain {user}, so that every user gets a directory of their own']],
    ['users/{user}{thread}', ["segment '{user}{thread}' has more than one placeholder: each placeholder needs a segment of its own"]],
    ['users/../{user}', ["must not contain a '..' segment"]],
    ['users/./{user}', ["must not contain a '.' segment"]],
    ['users//{user}', ["must not contain empty path segments ('//' or a trailing '/')"]],
    ['users/{user}/', ["must not contain empty path segments ('//' or a trailing '/')"]],
    ['users/{tenant}/{user}', ['unknown placeholder {tenant}: only {user} and {thread} are supported']],
    ['users/{user/x', ["segment '{user' has an unbalanced brace", 'must contain {user}, so that every user gets a directory of their own']],
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
    ).toEqual(['spec.shared.mounts[1].mountPath']);
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
      'invalid policy:\np.yaml: document 1 (a):\n  spec.mode: Unsupported value: "nfs": supported values: "workspace", "shared"\np.yaml: document 2 (b):\n  spec.workspace.size: Invalid value: "lots": must be a Kubernetes quantity such as \'2Gi\' or \'500Mi\'',
    );
  });

  it('rejects duplicate names, YAML syntax errors and files without policies', () => {
    const one = 'apiVersion: sandbox-storage.io/v1alpha1\nkind: SandboxStoragePolicy\nmetadata: {name: a}\n';
    expect(() => parsePolicies(`${one}---\n${one}`, 'dup.yaml')).toThrow('dup.yaml: policy name "a" is used more than once');
    expect(() => parsePolicies('spec: [unclosed', 'broken.yaml')).toThrow(/broken.yaml: document 1: /);
    expect(() => parsePolicies('', 'empty.yaml')).toThrow('empty.yaml: no SandboxStoragePolicy found');
  });
});
