// Proof that a PVC is the storage of one identity under one policy: an HMAC that only holders of the ownership key
// (the controller and the webhooks, through a Secret nobody else reads) can compute. Labels say whose a PVC claims
// to be; anyone who can create a PVC (or a Pod with an ephemeral volume) can write them. The proof cannot be forged.
// Pure: the key is passed in.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { ClaimPlan } from './plan-types.ts';
import { managedByValue, ownershipLabels, ownershipProofAnnotation } from '../labels.ts';

/** Length of the ownership key in bytes. */
export const ownershipKeyBytes = 32;

const proofVersion = 'v1';

/** What a proof vouches for. `identityHash` is the workspace identity hash; '' for a shared claim. */
export interface OwnershipStatement {
  namespace: string;
  name: string;
  policy: string;
  role: 'workspace' | 'shared';
  identityHash: string;
}

// createHmac with raw bytes builds a new KeyObject on every call, which was most of the cost of a proof (several
// per reconcile and per admission); one KeyObject per key array, copied once, so a later change of the array cannot
// leave a stale key.
const keyObjects = new WeakMap<Uint8Array, { bytes: Buffer; keyObject: KeyObject }>();

function keyObjectOf(key: Uint8Array): KeyObject {
  const known = keyObjects.get(key);
  if (known && known.bytes.equals(key)) return known.keyObject;
  const bytes = Buffer.from(key);
  const keyObject = createSecretKey(bytes);
  keyObjects.set(key, { bytes, keyObject });
  return keyObject;
}

function digest(key: Uint8Array, statement: OwnershipStatement): Buffer {
  // JSON keeps every field's boundaries exact: no two statements share a message.
  const message = JSON.stringify([proofVersion, statement.namespace, statement.name, statement.policy, statement.role, statement.identityHash]);
  return createHmac('sha256', keyObjectOf(key)).update(message).digest();
}

/** The annotation value for `statement`: "v1:<base64url HMAC-SHA256>". */
export function ownershipProof(key: Uint8Array, statement: OwnershipStatement): string {
  return `${proofVersion}:${digest(key, statement).toString('base64url')}`;
}

/** True when `proof` was made with `key` for exactly `statement`. Constant-time in the proof's content. */
export function proofMatches(key: Uint8Array, statement: OwnershipStatement, proof: unknown): boolean {
  if (typeof proof !== 'string' || !proof.startsWith(`${proofVersion}:`)) return false;
  const given = Buffer.from(proof.slice(proofVersion.length + 1), 'base64url');
  const expected = digest(key, statement);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** What a PVC the controller creates (or adopts) for `plan` vouches for. */
export function claimStatement(plan: ClaimPlan): OwnershipStatement {
  return {
    namespace: plan.namespace,
    name: plan.name,
    policy: plan.labels[ownershipLabels.policy] ?? '',
    role: plan.role,
    identityHash: plan.role === 'workspace' ? (plan.labels[ownershipLabels.identityHash] ?? '') : '',
  };
}

/**
 * What an existing PVC claims to be, read from its own labels: the statement its proof must match for the PVC to be
 * one of ours at all (retention, quotas), whatever plan is asking.
 */
export function claimedStatement(namespace: string, name: string, labels: Record<string, string>): OwnershipStatement {
  const identityHash = labels[ownershipLabels.identityHash];
  return {
    namespace,
    name,
    policy: labels[ownershipLabels.policy] ?? '',
    role: identityHash === undefined ? 'shared' : 'workspace',
    identityHash: identityHash ?? '',
  };
}

/** True when the PVC is proven to be what its own labels say (see claimedStatement). False without a key. */
export function provenByOwnLabels(
  key: Uint8Array | undefined,
  namespace: string,
  claim: { name: string; labels: Record<string, string>; annotations: Record<string, string> },
): boolean {
  return key !== undefined && proofMatches(key, claimedStatement(namespace, claim.name, claim.labels), claim.annotations[ownershipProofAnnotation]);
}

/**
 * The ownership marks of this product on an object's metadata: the labels that say "managed by sandbox-storage",
 * name a policy or an identity hash, and the proof annotation. Only the controller may write them.
 */
export function ownershipMarks(labels: Record<string, string> | undefined, annotations: Record<string, string> | undefined): string[] {
  const marks: string[] = [];
  if (labels?.[ownershipLabels.managedBy] === managedByValue) marks.push(`label ${ownershipLabels.managedBy}=${managedByValue}`);
  for (const key of [ownershipLabels.identityHash, ownershipLabels.policy]) {
    if (labels !== undefined && Object.hasOwn(labels, key)) marks.push(`label ${key}`);
  }
  if (annotations !== undefined && Object.hasOwn(annotations, ownershipProofAnnotation)) marks.push(`annotation ${ownershipProofAnnotation}`);
  return marks;
}
