// Generates the SandboxStoragePolicy CRD and the TypeScript types from src/policy/schema.ts.
// `npm run generate` writes them; a unit test fails when the committed files are out of date.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { policyGroup, policyNames, policySpecSchema, policyStatusSchema, policyVersion, type SchemaNode } from '../src/policy/schema.ts';

export const crdPath = 'deploy/crds/sandbox-storage.io_sandboxstoragepolicies.yaml';
export const typesPath = 'src/policy/generated-types.ts';
export const referencePath = 'docs/policy-reference.md';

/**
 * An object default written as `{}` spelled out with its fields' defaults: the API server checks a default against
 * the node's CEL rules before nested defaults apply, so `{}` would fail rules that read those fields.
 */
function expandedDefault(node: SchemaNode): unknown {
  if (node.type !== 'object' || !node.properties || typeof node.default !== 'object' || node.default === null) return node.default;
  const value: Record<string, unknown> = { ...(node.default as Record<string, unknown>) };
  for (const [name, child] of Object.entries(node.properties)) {
    if (value[name] === undefined && child.default !== undefined) value[name] = expandedDefault(child);
  }
  return value;
}

/** The schema as the API server wants it: TypeScript-only keys (typeName, check functions) removed. */
function toOpenApi(node: SchemaNode): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'typeName' || value === undefined) continue;
    if (key === 'default') {
      result.default = expandedDefault(node);
      continue;
    }
    if (key === 'properties') {
      result.properties = Object.fromEntries(Object.entries(value as Record<string, SchemaNode>).map(([name, child]) => [name, toOpenApi(child)]));
    } else if (key === 'items' || key === 'additionalProperties') {
      result[key] = toOpenApi(value as SchemaNode);
    } else if (key === 'x-kubernetes-validations') {
      result[key] = (value as Array<Record<string, unknown>>).map(({ check: _check, ...rule }) => rule);
    } else {
      result[key] = value;
    }
  }
  return result;
}

export function renderCrd(): string {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${policyNames.plural}.${policyGroup}`,
      labels: { 'app.kubernetes.io/name': 'sandbox-storage-webhook' },
    },
    spec: {
      group: policyGroup,
      scope: 'Cluster',
      names: policyNames,
      versions: [
        {
          name: policyVersion,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
            { name: 'Claim', type: 'string', jsonPath: '.spec.shared.claimName', description: 'Shared PVC (shared mode)' },
            { name: 'Class', type: 'string', jsonPath: '.spec.workspace.storageClassName', description: 'StorageClass of workspace PVCs' },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'SandboxStoragePolicy gives sandbox Pods persistent, tenant-isolated storage.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of this object.' },
                kind: { type: 'string', description: 'Kind of this object.' },
                metadata: { type: 'object' },
                spec: toOpenApi(policySpecSchema),
                status: toOpenApi(policyStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
  return `# Generated from src/policy/schema.ts by \`npm run generate\`; do not edit.\n${stringify(crd, { lineWidth: 0 })}`;
}

function typeOf(node: SchemaNode, named: Map<string, string>, indent: string): string {
  if (node.enum) return node.enum.map((value) => `'${value}'`).join(' | ');
  switch (node.type) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'integer':
      return 'number';
    case 'array':
      return `Array<${typeOf(node.items as SchemaNode, named, indent)}>`;
    case 'object': {
      if (node.additionalProperties) return `Record<string, ${typeOf(node.additionalProperties, named, indent)}>`;
      const body = objectBody(node, named, `${indent}  `);
      if (!node.typeName) return `{\n${body}${indent}}`;
      if (!named.has(node.typeName)) named.set(node.typeName, `export interface ${node.typeName} {\n${objectBody(node, named, '  ')}}\n`);
      return node.typeName;
    }
  }
}

function objectBody(node: SchemaNode, named: Map<string, string>, indent: string): string {
  return Object.entries(node.properties ?? {})
    .map(([name, child]) => {
      // Resolved policies have every defaulted field; only fields without a default can be absent.
      const optional = child.default === undefined && !(node.required ?? []).includes(name);
      const doc = child.description ? `${indent}/** ${child.description.replaceAll('*/', '*\\/')} */\n` : '';
      return `${doc}${indent}${name}${optional ? '?' : ''}: ${typeOf(child, named, indent)};\n`;
    })
    .join('');
}

export function renderTypes(): string {
  const named = new Map<string, string>();
  typeOf(policySpecSchema, named, '');
  typeOf(policyStatusSchema, named, '');
  return `// Generated from src/policy/schema.ts by \`npm run generate\`; do not edit.\n// A resolved policy: every field with a default is present.\n\n${[...named.values()].join('\n')}`;
}

function typeName(node: SchemaNode): string {
  if (node.enum) return node.enum.map((value) => `\`${value}\``).join(' \\| ');
  if (node.type === 'array') return `list of ${node.items ? typeName(node.items) : 'values'}`;
  if (node.type === 'object') return node.typeName === 'LabelSelector' ? 'label selector' : node.additionalProperties ? 'map' : 'object';
  return node.type;
}

function defaultText(node: SchemaNode): string {
  if (node.default === undefined) return '—';
  if (node.default === '') return '`""`';
  return `\`${typeof node.default === 'string' ? node.default : JSON.stringify(node.default)}\``;
}

function referenceRows(node: SchemaNode, path: string): string[] {
  if (node.type === 'object' && node.properties && node.typeName !== 'LabelSelector') {
    return Object.entries(node.properties).flatMap(([name, child]) => referenceRows(child, `${path}.${name}`));
  }
  if (node.type === 'array' && node.items?.type === 'object' && node.items.properties) {
    return Object.entries(node.items.properties).flatMap(([name, child]) => referenceRows(child, `${path}[].${name}`));
  }
  const description = (node.description ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [`| \`${path}\` | ${typeName(node)} | ${defaultText(node)} | ${description} |`];
}

/** Every field of the policy spec with its type, default and description, as one table. */
export function renderPolicyReference(): string {
  return [
    '<!-- Generated from src/policy/schema.ts by `npm run generate`; do not edit. -->',
    '# SandboxStoragePolicy reference',
    '',
    `\`${policyGroup}/${policyVersion}\`, kind \`SandboxStoragePolicy\`, cluster-scoped (short name \`ssp\`). Every field of \`spec\`,`,
    'with its default; `kubectl explain ssp.spec` shows the same descriptions. How policies are chosen and loaded:',
    '[policies.md](policies.md).',
    '',
    '| Field | Type | Default | Description |',
    '|---|---|---|---|',
    ...referenceRows(policySpecSchema, 'spec'),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(crdPath, renderCrd());
  writeFileSync(typesPath, renderTypes());
  writeFileSync(referencePath, renderPolicyReference());
  process.stderr.write(`wrote ${crdPath}, ${typesPath} and ${referencePath}\n`);
}
