// The plan file `migrate plan` writes for review and `migrate run` reads: versioned like a Kubernetes object. It is
// input a person may edit: run reads it back field by field and recomputes every target from the policy.
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { PlanItem } from './plan.ts';
import type { MigrationSource } from './source.ts';

export const planApiVersion = 'sandbox-storage.io/v1alpha1';
export const planKind = 'MigrationPlan';

export interface MigrationPlan {
  apiVersion: typeof planApiVersion;
  kind: typeof planKind;
  metadata: { id: string; createdAt: string };
  spec: {
    namespace: string;
    source: MigrationSource;
    target: { policy: string; mount: string };
    thread?: string;
  };
  items: PlanItem[];
}

export function formatPlan(plan: MigrationPlan, format: 'yaml' | 'json'): string {
  return format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : stringifyYaml(plan, { lineWidth: 0 });
}

type Errors = string[];

function text(errors: Errors, value: unknown, field: string, options: { optional?: boolean; allowEmpty?: boolean } = {}): string | undefined {
  if (value === undefined && options.optional) return undefined;
  if (typeof value !== 'string') return void errors.push(`${field}: Required value: a string`);
  if (value === '' && !options.allowEmpty) return void errors.push(`${field}: Required value: must not be empty`);
  return value;
}

function count(errors: Errors, value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    errors.push(`${field}: Invalid value: ${JSON.stringify(value)}: a whole number ≥ 0`);
    return 0;
  }
  return value;
}

/** A path inside a claim: relative, no '.' or '..' segments, no empty segment (the root is ''). */
function claimPath(errors: Errors, value: unknown, field: string): string {
  const path = text(errors, value, field, { allowEmpty: true }) ?? '';
  if (path !== '' && (path.startsWith('/') || path.split('/').some((part) => part === '' || part === '.' || part === '..') || path.includes('\n') || path.includes('\0'))) {
    errors.push(`${field}: Invalid value: ${JSON.stringify(path)}: a relative path without empty, "." or ".." segments`);
  }
  return path;
}

function location(errors: Errors, value: unknown, field: string): { claim: string; path: string } {
  const object = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof value !== 'object' || value === null) errors.push(`${field}: Required value: {claim, path}`);
  return { claim: text(errors, object.claim, `${field}.claim`) ?? '', path: claimPath(errors, object.path, `${field}.path`) };
}

function source(errors: Errors, value: unknown): MigrationSource {
  const object = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const kind = object.kind;
  if (kind === 'policy') {
    const parsed: MigrationSource = { kind, policy: text(errors, object.policy, 'spec.source.policy') ?? '' };
    const mount = text(errors, object.mount, 'spec.source.mount', { optional: true });
    if (mount !== undefined) parsed.mount = mount;
    return parsed;
  }
  if (kind === 'template') return { kind, claim: text(errors, object.claim, 'spec.source.claim') ?? '', path: text(errors, object.path, 'spec.source.path') ?? '' };
  if (kind === 'claimPattern') return { kind, pattern: text(errors, object.pattern, 'spec.source.pattern') ?? '', path: text(errors, object.path, 'spec.source.path', { allowEmpty: true }) ?? '' };
  errors.push(`spec.source.kind: Unsupported value: ${JSON.stringify(kind)}: supported values: "policy", "template", "claimPattern"`);
  return { kind: 'template', claim: '', path: '' };
}

function item(errors: Errors, value: unknown, field: string): PlanItem {
  const object = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof value !== 'object' || value === null) errors.push(`${field}: Required value: an object`);
  const parsed: PlanItem = {
    key: text(errors, object.key, `${field}.key`) ?? '',
    source: location(errors, object.source, `${field}.source`),
    files: count(errors, object.files, `${field}.files`),
    kib: count(errors, object.kib, `${field}.kib`),
    conflicts: [],
  };
  const user = text(errors, object.user, `${field}.user`, { optional: true });
  const thread = text(errors, object.thread, `${field}.thread`, { optional: true });
  if (user !== undefined) parsed.user = user;
  if (thread !== undefined) parsed.thread = thread;
  if (object.target !== undefined) parsed.target = location(errors, object.target, `${field}.target`);
  if (!Array.isArray(object.conflicts) || object.conflicts.some((conflict) => typeof conflict !== 'string')) errors.push(`${field}.conflicts: Required value: a list of strings`);
  else parsed.conflicts = [...(object.conflicts as string[])];
  if (object.done === true) parsed.done = true;
  return parsed;
}

/** The plan in `text` (YAML or JSON), or every problem with it, each naming its field. */
export function parsePlan(input: string, name: string): { plan?: MigrationPlan; errors: string[] } {
  let document: unknown;
  try {
    document = parseYaml(input);
  } catch (error) {
    return { errors: [`${name}: not YAML or JSON: ${(error as Error).message}`] };
  }
  const errors: Errors = [];
  const object = (typeof document === 'object' && document !== null ? document : {}) as Record<string, unknown>;
  if (object.apiVersion !== planApiVersion) errors.push(`apiVersion: Unsupported value: ${JSON.stringify(object.apiVersion)}: supported values: "${planApiVersion}"`);
  if (object.kind !== planKind) errors.push(`kind: Unsupported value: ${JSON.stringify(object.kind)}: supported values: "${planKind}"`);
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  const target = (spec.target ?? {}) as Record<string, unknown>;
  const id = text(errors, metadata.id, 'metadata.id') ?? '';
  if (id !== '' && !/^[a-z2-7]{20}$/.test(id)) errors.push(`metadata.id: Invalid value: ${JSON.stringify(id)}: 20 base32 characters, as plan writes it`);
  const parsedSpec: MigrationPlan['spec'] = {
    namespace: text(errors, spec.namespace, 'spec.namespace') ?? '',
    source: source(errors, spec.source),
    target: { policy: text(errors, target.policy, 'spec.target.policy') ?? '', mount: text(errors, target.mount, 'spec.target.mount') ?? '' },
  };
  const thread = text(errors, spec.thread, 'spec.thread', { optional: true });
  if (thread !== undefined) parsedSpec.thread = thread;
  if (!Array.isArray(object.items)) errors.push('items: Required value: a list');
  const items = Array.isArray(object.items) ? object.items.map((entry, index) => item(errors, entry, `items[${index}]`)) : [];
  const keys = new Set<string>();
  for (const [index, entry] of items.entries()) {
    if (keys.has(entry.key)) errors.push(`items[${index}].key: Duplicate value: ${JSON.stringify(entry.key)}`);
    keys.add(entry.key);
  }
  if (errors.length > 0) return { errors: errors.map((error) => `${name}: ${error}`) };
  return {
    plan: { apiVersion: planApiVersion, kind: planKind, metadata: { id, createdAt: typeof metadata.createdAt === 'string' ? metadata.createdAt : '' }, spec: parsedSpec, items },
    errors: [],
  };
}
