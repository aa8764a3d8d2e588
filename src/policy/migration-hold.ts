// Migration holds: `migrate run` writes, on the target SandboxStoragePolicy, one annotation per plan
// (`sandbox-storage.io/migration-hold-<plan id>`) naming the identities it copies; their new sandbox Pods stay behind
// the storage gate until the annotation is gone. Only who may write policies (cluster admins) can set one, so a
// tenant can neither hold another tenant's Pods nor release their own. The value is hostile input all the same: one
// that cannot be read holds every Pod of the policy (fail safe: a typo delays sandboxes, it never lets a write
// race a copy).
import { migrationHoldAnnotationPrefix } from '../labels.ts';

export interface HeldIdentity {
  user: string;
  /** Absent: every thread of the user. */
  thread?: string;
}

export interface MigrationHold {
  /** The plan id from the annotation's key. */
  plan: string;
  /** Absent: every namespace (only an unreadable value holds that much). */
  namespace?: string;
  /** Every identity (of the namespace) is held. */
  all: boolean;
  identities: HeldIdentity[];
  /** Why the value could not be read (then `all` is true). */
  error?: string;
}

/** The annotations' total size limit is 256 KiB; a hold stays well below, leaving room for everything else. */
export const maxHoldValueBytes = 128 * 1024;

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '' && value.length <= 253;

function parseValue(plan: string, value: string): MigrationHold {
  const unreadable = (why: string): MigrationHold => ({ plan, all: true, identities: [], error: `annotation ${migrationHoldAnnotationPrefix}${plan}: ${why}` });
  if (value.length > maxHoldValueBytes) return unreadable(`longer than ${maxHoldValueBytes} bytes`);
  let document: unknown;
  try {
    document = JSON.parse(value);
  } catch {
    return unreadable('not JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return unreadable('not a JSON object');
  const object = document as Record<string, unknown>;
  if (!isText(object.namespace)) return unreadable('namespace: Required value: a namespace name');
  if (object.all === true) return { plan, namespace: object.namespace, all: true, identities: [] };
  if (!Array.isArray(object.identities)) return unreadable('identities: Required value: a list of [user] or [user, thread]');
  const identities: HeldIdentity[] = [];
  for (const [index, entry] of object.identities.entries()) {
    if (!Array.isArray(entry) || entry.length < 1 || entry.length > 2 || !entry.every(isText)) {
      return unreadable(`identities[${index}]: Invalid value: ${JSON.stringify(entry)?.slice(0, 80)}: [user] or [user, thread]`);
    }
    const [user, thread] = entry as string[];
    identities.push(thread === undefined ? { user: user as string } : { user: user as string, thread });
  }
  return { plan, namespace: object.namespace, all: false, identities };
}

/** The holds in a policy object's annotations; other annotations are ignored. */
export function parseMigrationHolds(annotations: Record<string, string> | undefined): MigrationHold[] {
  const holds: MigrationHold[] = [];
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(migrationHoldAnnotationPrefix)) continue;
    holds.push(parseValue(key.slice(migrationHoldAnnotationPrefix.length), typeof value === 'string' ? value : ''));
  }
  return holds.sort((a, b) => a.plan.localeCompare(b.plan));
}

/**
 * The annotation value holding `identities` of `namespace`; when the list would not fit, the whole namespace is held
 * (the policy's Pods of other identities there then wait for the run too).
 */
export function formatMigrationHold(namespace: string, identities: readonly HeldIdentity[]): string {
  const listed = JSON.stringify({ namespace, identities: identities.map((identity) => (identity.thread === undefined ? [identity.user] : [identity.user, identity.thread])) });
  return Buffer.byteLength(listed) <= maxHoldValueBytes ? listed : JSON.stringify({ namespace, all: true });
}

/** The annotation key of a plan's hold. */
export const migrationHoldKey = (plan: string): string => `${migrationHoldAnnotationPrefix}${plan}`;
