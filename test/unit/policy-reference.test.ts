// The policy reference (docs/policy-reference.md) must list every field of the schema with its default.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policySpecSchema, type SchemaNode } from '../../src/policy/schema.ts';

const readme = readFileSync(new URL('../../docs/policy-reference.md', import.meta.url), 'utf8');

function leaves(node: SchemaNode, path: string): Array<{ path: string; node: SchemaNode }> {
  if (node.type === 'object' && node.properties && node.typeName !== 'LabelSelector') {
    return Object.entries(node.properties).flatMap(([name, child]) => leaves(child, `${path}.${name}`));
  }
  if (node.type === 'array' && node.items?.type === 'object' && node.items.properties) {
    return Object.entries(node.items.properties).flatMap(([name, child]) => leaves(child, `${path}[].${name}`));
  }
  return [{ path, node }];
}

describe('policy reference', () => {
  const fields = leaves(policySpecSchema, 'spec');

  it.each(fields.map((field) => [field.path, field]))('documents %s with its default', (path, field) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${path}\` |`));
    expect(row, `docs/policy-reference.md has no row for ${path}`).toBeDefined();
    const value = (field as { node: SchemaNode }).node.default;
    if (typeof value === 'string' || typeof value === 'boolean') {
      expect(row).toContain(value === '' ? '`""`' : `\`${String(value)}\``);
    }
  });

  it('has no rows for fields the schema does not have', () => {
    const known = new Set(fields.map((field) => field.path));
    const documented = [...readme.matchAll(/^\| `(spec\.[^`]+)` \|/gm)].map((match) => match[1]);
    expect(documented.filter((path) => !known.has(path as string))).toEqual([]);
  });
});
