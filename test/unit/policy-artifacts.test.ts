import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { crdPath, referencePath, renderCrd, renderPolicyReference, renderTypes, typesPath } from '../../scripts/policy-artifacts.ts';

const root = new URL('../..', import.meta.url).pathname;

describe('artifacts generated from the policy schema', () => {
  it('the committed CRD is what the schema generates (run `npm run generate`)', () => {
    expect(readFileSync(`${root}${crdPath}`, 'utf8')).toBe(renderCrd());
  });

  it('the committed TypeScript types are what the schema generates (run `npm run generate`)', () => {
    expect(readFileSync(`${root}${typesPath}`, 'utf8')).toBe(renderTypes());
  });

  it('the committed policy reference is what the schema generates (run `npm run generate`)', () => {
    expect(readFileSync(`${root}${referencePath}`, 'utf8')).toBe(renderPolicyReference());
  });

  it('the CRD carries no TypeScript-only keys and expands object defaults', () => {
    const crd = parse(renderCrd());
    const text = JSON.stringify(crd);
    expect(text).not.toContain('typeName');
    expect(text).not.toContain('"check"');
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    expect(spec.properties.identity.default).toEqual({ userLabel: 'sandbox-storage.io/user', threadLabel: 'sandbox-storage.io/thread' });
    expect(spec.properties.workspace.default).toMatchObject({ scope: 'thread', size: '2Gi', claimNamePrefix: 'sandbox-' });
  });
});
