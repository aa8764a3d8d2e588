// Offline twin of the API server's CRD validation: walks the policy schema, fills defaults, and reports every
// violation with the API server's field paths and messages (checked against it by an integration test).
import type { FieldErrorList } from './field-errors.ts';
import type { SchemaNode } from './schema.ts';
import { isObject } from '../plain-json.ts';

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function hasType(value: unknown, type: SchemaNode['type']): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    default:
      return typeof value === type;
  }
}

/**
 * The walk's state. Like the API server, CEL rules are only reported when no error of a kind their cost estimate
 * relies on (type, enum, required, maxLength, maxItems, maxProperties) was found; otherwise one notice says so.
 */
interface Walk {
  errors: FieldErrorList;
  ruleFailures: Array<{ field: string; message: string }>;
  rulesBlocked: boolean;
}

export const rulesNotCheckedMessage =
  'Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

function checkEnum(value: unknown, node: SchemaNode, path: string, walk: Walk): boolean {
  if (!node.enum || node.enum.includes(value as string)) return true;
  walk.errors.unsupported(path, value, node.enum);
  walk.rulesBlocked = true;
  return false;
}

function checkScalar(value: unknown, node: SchemaNode, path: string, walk: Walk): void {
  const errors = walk.errors;
  if (!checkEnum(value, node, path, walk)) return;
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) {
      errors.invalid(path, value, `${path} in body should be greater than or equal to ${node.minimum}`);
    }
    if (node.maximum !== undefined && value > node.maximum) {
      errors.invalid(path, value, `${path} in body should be less than or equal to ${node.maximum}`);
    }
    return;
  }
  if (typeof value !== 'string') return;
  if (node.maxLength !== undefined && value.length > node.maxLength) {
    errors.add(path, `Too long: may not be more than ${node.maxLength} bytes`);
    walk.rulesBlocked = true;
  }
  if (node.pattern !== undefined && !new RegExp(node.pattern).test(value)) {
    errors.invalid(path, value, `${path} in body should match '${node.pattern}'`);
  }
}

/**
 * Returns `value` with defaults filled in (a new object; the input is not changed), or undefined where the value
 * has the wrong type. `previous` is the stored version for updates: transition rules (oldSelf) compare with it.
 */
export function applySchema(
  value: unknown,
  node: SchemaNode,
  path: string,
  errors: FieldErrorList,
  previous?: unknown,
): unknown {
  const walk: Walk = { errors, ruleFailures: [], rulesBlocked: false };
  const result = visit(value, node, path, walk, previous);
  if (walk.rulesBlocked) errors.add('<nil>', rulesNotCheckedMessage);
  else for (const failure of walk.ruleFailures) errors.add(failure.field, failure.message);
  return result;
}

function visit(value: unknown, node: SchemaNode, path: string, walk: Walk, previous?: unknown): unknown {
  const errors = walk.errors;
  let current = value;
  if (current === undefined || current === null) {
    if (node.default === undefined) return undefined;
    current = structuredClone(node.default);
  }
  if (!hasType(current, node.type)) {
    const actual = jsonType(current);
    errors.invalid(path, actual, `${path} in body must be of type ${node.type}: "${actual}"`);
    walk.rulesBlocked = true;
    checkEnum(current, node, path, walk);
    return undefined;
  }

  let result: unknown = current;
  if (node.type === 'object' && isObject(current)) {
    const object: Record<string, unknown> = {};
    const previousObject = isObject(previous) ? previous : undefined;
    if (node.additionalProperties) {
      const entries = Object.entries(current);
      if (node.maxProperties !== undefined && entries.length > node.maxProperties) {
        errors.add(path, `Too many: ${entries.length}: must have at most ${node.maxProperties} items`);
        walk.rulesBlocked = true;
      }
      for (const [key, entry] of entries) {
        const child = visit(entry, node.additionalProperties, `${path}.${key}`, walk);
        if (child !== undefined) object[key] = child;
      }
    } else {
      const properties = node.properties ?? {};
      for (const key of Object.keys(current)) {
        if (!(key in properties)) errors.add(`${path}.${key}`, 'Unknown field: field not declared in schema');
      }
      for (const [key, child] of Object.entries(properties)) {
        const resolved = visit(current[key], child, `${path}.${key}`, walk, previousObject?.[key]);
        if (resolved !== undefined) object[key] = resolved;
        else if (current[key] === undefined && (node.required ?? []).includes(key)) {
          errors.add(`${path}.${key}`, 'Required value');
          walk.rulesBlocked = true;
        }
      }
    }
    result = object;
  } else if (node.type === 'array' && Array.isArray(current)) {
    if (node.minItems !== undefined && current.length < node.minItems) {
      errors.invalid(path, current.length, `${path} in body should have at least ${node.minItems} items`);
    }
    if (node.maxItems !== undefined && current.length > node.maxItems) {
      errors.add(path, `Too many: ${current.length}: must have at most ${node.maxItems} items`);
      walk.rulesBlocked = true;
    }
    const items = node.items as SchemaNode;
    result = current.map((item, index) => visit(item, items, `${path}[${index}]`, walk));
    if (node['x-kubernetes-list-type'] === 'set') {
      current.forEach((item, index) => {
        if (current.indexOf(item) !== index) errors.add(`${path}[${index}]`, `Duplicate value: ${JSON.stringify(item)}`);
      });
    }
  } else {
    checkScalar(current, node, path, walk);
  }

  for (const rule of node['x-kubernetes-validations'] ?? []) {
    const isTransition = rule.rule.includes('oldSelf');
    if (isTransition && (previous === undefined || previous === null)) continue;
    let holds: boolean;
    try {
      holds = rule.check(result, isTransition ? previous : undefined);
    } catch {
      continue; // a field the rule reads is missing or mistyped: that error is already reported
    }
    if (holds) continue;
    const field = `${path}${rule.fieldPath ?? ''}`;
    const message =
      node.type === 'object' || node.type === 'array'
        ? `Invalid value: ${rule.message}`
        : `Invalid value: ${JSON.stringify(result)}: ${rule.message}`;
    walk.ruleFailures.push({ field, message });
  }
  return result;
}
