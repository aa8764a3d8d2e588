// Turns a policy document into a resolved Policy, reporting every problem at once with its field path. The spec is
// checked by the CRD schema itself (src/policy/schema.ts), so files and the API server agree.
import { dns1123SubdomainError } from '../naming/kubernetes-names.ts';
import { sharedMountCollisions } from './policy-conflicts.ts';
import { FieldErrorList, type FieldError } from './field-errors.ts';
import { policySpecSchema } from './schema.ts';
import { applySchema } from './schema-validate.ts';
import { policyApiVersion, policyKind, type Policy, type PolicySpec } from './types.ts';
import { isObject } from '../plain-json.ts';

/** Where the seed init container mounts the volume; the schema keeps sandbox mounts clear of it. */
export const seedStagingPath = '/sandbox-storage/seed-target';

export interface PolicyValidationResult {
  policy?: Policy;
  errors: FieldError[];
}

/** Checks a spec against the schema and returns it with every default filled in. */
export function resolveSpec(spec: unknown, errors: FieldErrorList, previous?: PolicySpec): PolicySpec | undefined {
  return applySchema(spec ?? {}, policySpecSchema, 'spec', errors, previous) as PolicySpec | undefined;
}

/** `previous` is the version being replaced, for the rules that forbid changing the storage layout. */
export function validatePolicyDocument(document: unknown, previous?: PolicySpec): PolicyValidationResult {
  const errors = new FieldErrorList();
  if (!isObject(document)) {
    errors.invalid('<root>', document, 'a policy must be a YAML/JSON object');
    return { errors: errors.errors };
  }
  if (document.apiVersion !== policyApiVersion) {
    errors.unsupported('apiVersion', document.apiVersion, [policyApiVersion]);
  }
  if (document.kind !== policyKind) errors.unsupported('kind', document.kind, [policyKind]);
  const metadata = isObject(document.metadata) ? document.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  if (name === '') errors.required('metadata.name', 'every policy needs a name');
  else {
    const nameError = dns1123SubdomainError(name);
    if (nameError) errors.invalid('metadata.name', name, nameError);
  }
  for (const key of Object.keys(document)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) {
      errors.add(key, 'Unknown field: field not declared in schema');
    }
  }
  const spec = resolveSpec(document.spec, errors, previous);
  if (errors.errors.length > 0 || spec === undefined) return { errors: errors.errors };
  // The templates of one policy must keep owners apart jointly, not only one by one.
  for (const collision of sharedMountCollisions({ name, spec })) errors.add(collision.field, collision.message);
  if (errors.errors.length > 0) return { errors: errors.errors };
  return { policy: { name, spec }, errors: [] };
}
