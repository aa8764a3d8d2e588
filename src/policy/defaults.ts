// Defaults come from the schema (src/policy/schema.ts); the README's policy reference and a golden test follow it.
import { FieldErrorList } from './field-errors.ts';
import type { PolicySpec } from './types.ts';
import { resolveSpec } from './validate.ts';

export function defaultPolicySpec(): PolicySpec {
  const errors = new FieldErrorList();
  const spec = resolveSpec({}, errors);
  if (!spec || errors.errors.length > 0) throw new Error(`the schema's defaults are invalid: ${JSON.stringify(errors.errors)}`);
  return spec;
}
