// The proof's HMAC key object is reused per key array: the proof must still follow the key's bytes exactly.
import { describe, expect, it } from 'vitest';
import { ownershipProof, proofMatches, type OwnershipStatement } from '../../src/admission/ownership-proof.ts';

const statement: OwnershipStatement = { namespace: 'team-a', name: 'sandbox-alice', policy: 'default', role: 'workspace', identityHash: 'abc' };

describe('ownership proof key reuse', () => {
  it('gives the same proof for equal keys held in different arrays', () => {
    const key = new Uint8Array(32).fill(7);
    expect(ownershipProof(key, statement)).toBe(ownershipProof(new Uint8Array(32).fill(7), statement));
  });

  it('follows a key array changed in place (no stale key)', () => {
    const key = new Uint8Array(32).fill(1);
    const before = ownershipProof(key, statement);
    key[0] = 2;
    const after = ownershipProof(key, statement);
    expect(after).not.toBe(before);
    expect(proofMatches(key, statement, after)).toBe(true);
    expect(proofMatches(key, statement, before)).toBe(false);
  });
});
