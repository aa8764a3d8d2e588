// Turns a policy document into a resolved Policy, reporting every problem at once with its field path.
import {
  dns1123LabelError,
  dns1123SubdomainError,
  labelKeyError,
  labelValueError,
  storageQuantityError,
} from '../naming/kubernetes-names.ts';
import { parseSubPathTemplate } from '../naming/subpath-template.ts';
import { defaultPolicySpec } from './defaults.ts';
import { FieldErrorList, type FieldError } from './field-errors.ts';
import { policyApiVersion, policyKind, type LabelSelector, type Policy, type PolicySpec } from './types.ts';

type Shape = 'string' | 'boolean' | 'number' | 'stringMap' | { fields: Record<string, Shape> } | { items: Shape };

const selectorShape: Shape = {
  fields: {
    matchLabels: 'stringMap',
    matchExpressions: { items: { fields: { key: 'string', operator: 'string', values: { items: 'string' } } } },
  },
};

const specShape: Shape = {
  fields: {
    namespaceSelector: selectorShape,
    podSelector: selectorShape,
    identity: { fields: { userLabel: 'string', threadLabel: 'string' } },
    container: 'string',
    mode: 'string',
    workspace: {
      fields: {
        scope: 'string',
        mountPath: 'string',
        claimNamePrefix: 'string',
        storageClassName: 'string',
        size: 'string',
        accessModes: { items: 'string' },
        volumeMode: 'string',
      },
    },
    shared: {
      fields: {
        claimName: 'string',
        mounts: { items: { fields: { subPath: 'string', mountPath: 'string', readOnly: 'boolean' } } },
      },
    },
    provisioning: {
      fields: {
        schedulingGate: 'boolean',
        adoptExisting: 'boolean',
        pendingWarningSeconds: 'number',
        shared: {
          fields: {
            createIfMissing: 'boolean',
            storageClassName: 'string',
            size: 'string',
            accessModes: { items: 'string' },
            volumeMode: 'string',
          },
        },
      },
    },
    retention: { fields: { whenUnused: 'string', gracePeriodSeconds: 'number', idleTTLSeconds: 'number' } },
    quota: { fields: { maxClaimsPerUser: 'number', maxStoragePerUser: 'string' } },
    seed: { fields: { enabled: 'boolean', path: 'string', sentinel: 'string' } },
  },
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks `value` against `shape` and returns a copy holding only the well-typed parts, so that later checks and
 * defaulting can carry on past a type error and every problem is still reported.
 */
function conform(value: unknown, shape: Shape, field: string, errors: FieldErrorList): unknown {
  if (shape === 'string' || shape === 'boolean' || shape === 'number') {
    if (typeof value === shape) return value;
    errors.invalid(field, value, `must be a ${shape}`);
    return undefined;
  }
  if (shape === 'stringMap') {
    if (!isPlainObject(value)) {
      errors.invalid(field, value, 'must be a map of strings');
      return undefined;
    }
    const result: Record<string, string> = {};
    for (const [key, entry] of Object.entries(value)) {
      if (typeof entry === 'string') result[key] = entry;
      else errors.invalid(`${field}.${key}`, entry, 'must be a string');
    }
    return result;
  }
  if ('items' in shape) {
    if (!Array.isArray(value)) {
      errors.invalid(field, value, 'must be a list');
      return undefined;
    }
    return value.map((item, index) => conform(item, shape.items, `${field}[${index}]`, errors));
  }
  if (!isPlainObject(value)) {
    errors.invalid(field, value, 'must be an object');
    return undefined;
  }
  const result: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    const fieldShape = shape.fields[key];
    if (fieldShape === undefined) {
      errors.add(`${field}.${key}`, `Unknown field: supported fields are ${Object.keys(shape.fields).join(', ')}`);
      continue;
    }
    if (entry === null || entry === undefined) continue; // YAML `key:` with no value means "use the default"
    const conformed = conform(entry, fieldShape, `${field}.${key}`, errors);
    if (conformed !== undefined) result[key] = conformed;
  }
  return result;
}

/** Defaults under the written values; lists are replaced as a whole, never merged item by item. */
function withDefaults<T>(defaults: T, written: unknown): T {
  if (written === undefined) return defaults;
  if (!isPlainObject(defaults) || !isPlainObject(written)) return written as T;
  const result: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(written)) {
    result[key] = key in defaults ? withDefaults((defaults as Record<string, unknown>)[key], value) : value;
  }
  return result as T;
}

const modes = ['workspace', 'shared'] as const;
const scopes = ['thread', 'user'] as const;
const accessModes = ['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany', 'ReadOnlyMany'] as const;
const volumeModes = ['Filesystem', 'Block'] as const;
const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
const claimNamePrefixPattern = /^[a-z][-a-z0-9]{0,29}$/;
/** Where the seed init container mounts the volume; sandbox mounts must stay clear of it. */
export const seedStagingPath = '/sandbox-storage/seed-target';

function checkSelector(selector: LabelSelector, field: string, errors: FieldErrorList): void {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const keyError = labelKeyError(key);
    if (keyError) errors.invalid(`${field}.matchLabels`, key, keyError);
    const valueError = labelValueError(value);
    if (valueError) errors.invalid(`${field}.matchLabels.${key}`, value, valueError);
  }
  (selector.matchExpressions ?? []).forEach((requirement, index) => {
    const path = `${field}.matchExpressions[${index}]`;
    if (requirement.key === undefined) errors.required(`${path}.key`, 'a label key is required');
    else {
      const keyError = labelKeyError(requirement.key);
      if (keyError) errors.invalid(`${path}.key`, requirement.key, keyError);
    }
    if (!selectorOperators.includes(requirement.operator)) {
      errors.unsupported(`${path}.operator`, requirement.operator, selectorOperators);
    }
    const values = requirement.values ?? [];
    if ((requirement.operator === 'In' || requirement.operator === 'NotIn') && values.length === 0) {
      errors.required(`${path}.values`, `operator ${requirement.operator} needs at least one value`);
    }
    if ((requirement.operator === 'Exists' || requirement.operator === 'DoesNotExist') && values.length > 0) {
      errors.invalid(`${path}.values`, values, `must be empty when operator is ${requirement.operator}`);
    }
  });
}

function checkMountPath(path: string, field: string, errors: FieldErrorList): void {
  if (!path.startsWith('/')) errors.invalid(field, path, 'must be an absolute path');
  else if (path === '/') errors.invalid(field, path, 'must not be the root directory');
  else if (path.split('/').slice(1).some((segment) => segment === '' || segment === '.' || segment === '..')) {
    errors.invalid(field, path, "must be normalised: no empty, '.' or '..' segments and no trailing '/'");
  } else if (path === seedStagingPath || path.startsWith('/sandbox-storage/')) {
    errors.invalid(field, path, "must not be under /sandbox-storage/, which the seed init container uses");
  }
}

/** The provisioning hints of a PVC the controller creates (workspace PVCs, a shared PVC created if missing). */
function checkClaimHints(
  hints: { storageClassName?: string; size: string; accessModes: string[]; volumeMode: string },
  field: string,
  errors: FieldErrorList,
): void {
  if (hints.storageClassName !== undefined) {
    const classError = dns1123SubdomainError(hints.storageClassName);
    if (classError) errors.invalid(`${field}.storageClassName`, hints.storageClassName, classError);
  }
  const sizeError = storageQuantityError(hints.size);
  if (sizeError) errors.invalid(`${field}.size`, hints.size, sizeError);
  if (hints.accessModes.length === 0) errors.required(`${field}.accessModes`, 'at least one access mode');
  hints.accessModes.forEach((mode, index) => {
    if (!(accessModes as readonly string[]).includes(mode)) errors.unsupported(`${field}.accessModes[${index}]`, mode, accessModes);
    else if (hints.accessModes.indexOf(mode) !== index) errors.invalid(`${field}.accessModes[${index}]`, mode, 'is listed twice');
  });
  if (!(volumeModes as readonly string[]).includes(hints.volumeMode)) {
    errors.unsupported(`${field}.volumeMode`, hints.volumeMode, volumeModes);
  } else if (hints.volumeMode === 'Block') {
    errors.invalid(`${field}.volumeMode`, 'Block', 'a Block volume cannot be mounted at a path; use Filesystem');
  }
}

function checkProvisioning(provisioning: PolicySpec['provisioning'], mode: string, errors: FieldErrorList): void {
  const seconds = provisioning.pendingWarningSeconds;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) {
    errors.invalid('spec.provisioning.pendingWarningSeconds', seconds, 'must be a whole number of seconds from 1 to 86400');
  }
  if (mode === 'shared' && provisioning.shared.createIfMissing) {
    checkClaimHints(provisioning.shared, 'spec.provisioning.shared', errors);
  }
}

const retentionPolicies = ['Retain', 'Delete'] as const;
const maxRetentionSeconds = 366 * 24 * 3600;

function checkRetention(retention: PolicySpec['retention'], errors: FieldErrorList): void {
  if (!retentionPolicies.includes(retention.whenUnused)) {
    errors.unsupported('spec.retention.whenUnused', retention.whenUnused, retentionPolicies);
  }
  const grace = retention.gracePeriodSeconds;
  if (!Number.isInteger(grace) || grace < 0 || grace > maxRetentionSeconds) {
    errors.invalid('spec.retention.gracePeriodSeconds', grace, `must be a whole number of seconds from 0 to ${maxRetentionSeconds}`);
  }
  const ttl = retention.idleTTLSeconds;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > maxRetentionSeconds) {
    errors.invalid('spec.retention.idleTTLSeconds', ttl, `must be a whole number of seconds from 0 (never) to ${maxRetentionSeconds}`);
  }
}

function checkQuota(quota: PolicySpec['quota'], errors: FieldErrorList): void {
  const count = quota.maxClaimsPerUser;
  if (!Number.isInteger(count) || count < 0 || count > 100_000) {
    errors.invalid('spec.quota.maxClaimsPerUser', count, 'must be a whole number from 0 (no limit) to 100000');
  }
  if (quota.maxStoragePerUser !== '') {
    const sizeError = storageQuantityError(quota.maxStoragePerUser);
    if (sizeError) errors.invalid('spec.quota.maxStoragePerUser', quota.maxStoragePerUser, `${sizeError}, or '' for no limit`);
  }
}

function checkSpec(spec: PolicySpec, errors: FieldErrorList): void {
  checkSelector(spec.namespaceSelector, 'spec.namespaceSelector', errors);
  checkSelector(spec.podSelector, 'spec.podSelector', errors);
  for (const [key, label] of Object.entries(spec.identity)) {
    const keyError = labelKeyError(label);
    if (keyError) errors.invalid(`spec.identity.${key}`, label, keyError);
  }
  if (spec.identity.userLabel === spec.identity.threadLabel) {
    errors.invalid('spec.identity.threadLabel', spec.identity.threadLabel, 'must differ from spec.identity.userLabel');
  }
  if (spec.container !== '') {
    const containerError = dns1123LabelError(spec.container);
    if (containerError) errors.invalid('spec.container', spec.container, containerError);
  }
  if (!modes.includes(spec.mode)) errors.unsupported('spec.mode', spec.mode, modes);

  const seededMountPaths: string[] = [];
  if (spec.mode === 'workspace') {
    const workspace = spec.workspace;
    if (!scopes.includes(workspace.scope)) errors.unsupported('spec.workspace.scope', workspace.scope, scopes);
    checkMountPath(workspace.mountPath, 'spec.workspace.mountPath', errors);
    if (!claimNamePrefixPattern.test(workspace.claimNamePrefix)) {
      errors.invalid(
        'spec.workspace.claimNamePrefix',
        workspace.claimNamePrefix,
        'must start with a lower-case letter and have at most 30 lower-case letters, digits or \'-\'',
      );
    }
    checkClaimHints(workspace, 'spec.workspace', errors);
    seededMountPaths.push(workspace.mountPath);
  }

  if (spec.mode === 'shared') {
    const shared = spec.shared;
    if (shared.claimName === '') errors.required('spec.shared.claimName', 'shared mode mounts an existing PVC');
    else {
      const claimError = dns1123SubdomainError(shared.claimName);
      if (claimError) errors.invalid('spec.shared.claimName', shared.claimName, claimError);
    }
    if (shared.mounts.length === 0) errors.required('spec.shared.mounts', 'at least one mount');
    shared.mounts.forEach((mount, index) => {
      const field = `spec.shared.mounts[${index}]`;
      if (mount.subPath === undefined) errors.required(`${field}.subPath`, 'a subPath template');
      else {
        for (const problem of parseSubPathTemplate(mount.subPath).errors) {
          errors.invalid(`${field}.subPath`, mount.subPath, problem);
        }
      }
      if (mount.mountPath === undefined) errors.required(`${field}.mountPath`, 'an absolute path');
      else {
        checkMountPath(mount.mountPath, `${field}.mountPath`, errors);
        if (shared.mounts.findIndex((other) => other.mountPath === mount.mountPath) !== index) {
          errors.invalid(`${field}.mountPath`, mount.mountPath, 'is used by another mount');
        }
        if (!mount.readOnly) seededMountPaths.push(mount.mountPath);
      }
    });
  }

  checkProvisioning(spec.provisioning, spec.mode, errors);
  checkRetention(spec.retention, errors);
  checkQuota(spec.quota, errors);

  if (spec.seed.enabled) {
    checkMountPath(spec.seed.path, 'spec.seed.path', errors);
    if (modes.includes(spec.mode) && !seededMountPaths.includes(spec.seed.path)) {
      errors.invalid(
        'spec.seed.path',
        spec.seed.path,
        `must be the mountPath of an injected read-write mount (${seededMountPaths.join(', ') || 'none'}), or set spec.seed.enabled: false`,
      );
    }
  }
  const sentinel = spec.seed.sentinel;
  if (sentinel === '' || sentinel === '.' || sentinel === '..' || /[/\0]/.test(sentinel) || sentinel.length > 255) {
    errors.invalid('spec.seed.sentinel', sentinel, "must be a plain file name (no '/', not '.' or '..')");
  }
}

export interface PolicyValidationResult {
  policy?: Policy;
  errors: FieldError[];
}

export function validatePolicyDocument(document: unknown): PolicyValidationResult {
  const errors = new FieldErrorList();
  if (!isPlainObject(document)) {
    errors.invalid('<root>', document, 'a policy must be a YAML/JSON object');
    return { errors: errors.errors };
  }
  if (document.apiVersion !== policyApiVersion) {
    errors.unsupported('apiVersion', document.apiVersion, [policyApiVersion]);
  }
  if (document.kind !== policyKind) errors.unsupported('kind', document.kind, [policyKind]);
  const metadata = isPlainObject(document.metadata) ? document.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  if (name === '') errors.required('metadata.name', 'every policy needs a name');
  else {
    const nameError = dns1123SubdomainError(name);
    if (nameError) errors.invalid('metadata.name', name, nameError);
  }
  for (const key of Object.keys(document)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) {
      errors.add(key, 'Unknown field: supported fields are apiVersion, kind, metadata, spec');
    }
  }
  const writtenSpec = document.spec === undefined || document.spec === null ? {} : document.spec;
  const conformed = conform(writtenSpec, specShape, 'spec', errors);
  const spec = withDefaults(defaultPolicySpec(), conformed ?? {});
  checkSpec(spec, errors);
  if (errors.errors.length > 0) return { errors: errors.errors };
  return { policy: { name, spec }, errors: [] };
}
