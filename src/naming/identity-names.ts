// Names derived from tenant ids. Both mappings are injective: two distinct ids never share a PVC or a directory.
import { hash as digestOf } from 'node:crypto';

/**
 * Reversible, case-free directory name for an id: lower-case letters, digits, '-' and '.' stay; '_' becomes '__'
 * and an upper-case letter becomes '_' plus its lower-case form. The code is prefix-free, so it decodes uniquely,
 * and the output has no upper case, so even case-insensitive file shares (SMB, some NFS servers) keep ids apart.
 */
export function directoryNameForId(id: string): string {
  let encoded = '';
  for (const character of id) {
    if (character === '_') encoded += '__';
    else if (character >= 'A' && character <= 'Z') encoded += `_${character.toLowerCase()}`;
    else encoded += character;
  }
  return encoded;
}

export function idFromDirectoryName(name: string): string {
  return name.replace(/_(.)/g, (_, next: string) => (next === '_' ? '_' : next.toUpperCase()));
}

const base32Alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
/** 20 base32 characters = 100 bits of SHA-256: collisions are out of reach, and PVC labels double-check ownership. */
const hashLength = 20;
const hintLength = 20;

function base32(bytes: Uint8Array): string {
  let output = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      output += base32Alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  return output;
}

/** Lower-case, DNS-safe fragment that helps a human recognise the id; never relied upon for uniqueness. */
function readableHint(id: string): string {
  return id
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, hintLength)
    .replace(/^-+|-+$/g, '');
}

/** Whose a workspace is: one per user, or one per thread of a user (a policy's spec.workspace.scope). */
export type WorkspaceScope = 'user' | 'thread';

export interface WorkspaceIdentity {
  scope: WorkspaceScope;
  user: string;
  /** Ignored for scope 'user'. */
  thread?: string;
}

/** One-shot hash: no Hash object per call (this runs for every sandbox Pod admitted). */
function sha256(text: string): Buffer {
  return digestOf('sha256', text, 'buffer');
}

/** The exact, unambiguous identity the hash covers (JSON keeps every character and the boundaries). */
function canonicalIdentity(identity: WorkspaceIdentity): string {
  return JSON.stringify(
    identity.scope === 'user' ? ['user', identity.user] : ['thread', identity.user, identity.thread ?? ''],
  );
}

export interface WorkspaceNames {
  readonly claimName: string;
  readonly identityHash: string;
}

/**
 * The names of the identities seen last, by prefix and exact identity: the validating webhook asks for the names of
 * the Pod the mutating webhook has just planned, and a thread's Pods come back with its identity. Bounded (the
 * least recently used is dropped), so that a flood of distinct ids costs no memory beyond it.
 */
const recentNames = new Map<string, WorkspaceNames>();
const recentNamesLimit = 512;

/** A workspace's PVC name and identity hash, from one SHA-256 of the exact identity (both run for every sandbox Pod). */
export function workspaceNames(prefix: string, identity: WorkspaceIdentity): WorkspaceNames {
  const canonical = canonicalIdentity(identity);
  // JSON strings delimit themselves: distinct (prefix, identity) pairs never share a key.
  const key = JSON.stringify(prefix) + canonical;
  const known = recentNames.get(key);
  if (known !== undefined) {
    recentNames.delete(key); // re-inserted last: Map order is the recency order
    recentNames.set(key, known);
    return known;
  }
  const identityHash = base32(sha256(canonical));
  const hints = [readableHint(identity.user)];
  if (identity.scope === 'thread') hints.push(readableHint(identity.thread ?? ''));
  const names = Object.freeze({ claimName: `${prefix}${hints.filter((hint) => hint.length > 0).join('-')}-${identityHash.slice(0, hashLength)}`, identityHash });
  recentNames.set(key, names);
  if (recentNames.size > recentNamesLimit) recentNames.delete(recentNames.keys().next().value as string);
  return names;
}

/**
 * Workspace PVC name: policy prefix, readable hint, and always a hash of the exact identity. Always hashing (not only
 * when the readable form differs from the id) is what makes it injective: no id can be chosen to mimic another's name.
 */
export function workspaceClaimName(prefix: string, identity: WorkspaceIdentity): string {
  return workspaceNames(prefix, identity).claimName;
}

/** 20 base32 characters of the SHA-256 of `text`: a DNS-safe, fixed-length name fragment for exact content. */
const workspaceNameRest = new RegExp(`^[-a-z0-9]*-[${base32Alphabet}]{${hashLength}}$`);

/** True when `claimName` has the shape workspaceClaimName gives under `prefix`: prefix, hint, 20-char hash. */
export function looksLikeWorkspaceClaim(prefix: string, claimName: string): boolean {
  return claimName.startsWith(prefix) && workspaceNameRest.test(claimName.slice(prefix.length));
}

export function contentHash(text: string): string {
  return base32(sha256(text)).slice(0, hashLength);
}

/**
 * The SHA-256 of the exact identity in base32 (51 characters, 255 bits; a valid label value): written on the PVCs the
 * controller creates, so that a PVC of the planned name is only used for the identity it was made for.
 */
export function workspaceIdentityHash(identity: WorkspaceIdentity): string {
  return base32(sha256(canonicalIdentity(identity)));
}
