// Proof that a PVC is the storage of one identity under one policy: an HMAC that only holders of the ownership key
// (the controller and the webhooks, through a Secret nobody else reads) can compute. Labels say whose a PVC claims
// to be; anyone who can create a PVC (or a Pod with an ephemeral volume) can write them. The proof cannot be forged.
// Pure: the key is passed in.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Annotation that carries the proof on a PVC the controller created. */
export const ownershipProofAnnotation = 'sandbox-storage.io/ownership-proof';
const proofVersion = 'v1';

/** What a proof vouches for. `identityHash` is the workspace identity hash; '' for a shared claim. */
export interface OwnershipStatement {
  namespace: string;
  name: string;
  policy: string;
  role: 'workspace' | 'shared';
  identityHash: string;
}

function digest(key: Uint8Array, statement: OwnershipStatement): Buffer {
  // JSON keeps every field's boundaries exact: no two statements share a message.
  const message = JSON.stringify([proofVersion, statement.namespace, statement.name, statement.policy, statement.role, statement.identityHash]);
  return createHmac('sha256', key).update(message).digest();
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
