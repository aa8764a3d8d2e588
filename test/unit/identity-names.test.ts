import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { directoryNameForId, idFromDirectoryName, workspaceClaimName, workspaceIdentityHash, workspaceNames } from '../../src/naming/identity-names.ts';
import { dns1123SubdomainError, labelValueError } from '../../src/naming/kubernetes-names.ts';
import { parseSubPathTemplate, renderSubPath } from '../../src/naming/subpath-template.ts';

/** Any valid label value that is non-empty: what an id can be. */
const labelValueCharacters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.'.split('');
const alphanumeric = labelValueCharacters.filter((character) => /[A-Za-z0-9]/.test(character));
const idArbitrary = fc
  .tuple(
    fc.constantFrom(...alphanumeric),
    fc.array(fc.constantFrom(...labelValueCharacters), { maxLength: 61 }),
    fc.constantFrom(...alphanumeric),
  )
  .map(([first, middle, last]) => first + middle.join('') + last)
  .filter((id) => labelValueError(id) === undefined);

describe('directory names for ids', () => {
  it.each([
    ['alice', 'alice'],
    ['Alice', '_alice'],
    ['alice_smith', 'alice__smith'],
    ['a.b-c', 'a.b-c'],
    ['ALICE', '_a_l_i_c_e'],
  ])('%s → %s', (id, directory) => {
    expect(directoryNameForId(id)).toBe(directory);
    expect(idFromDirectoryName(directory)).toBe(id);
  });

  it('keeps ids apart that differ only by case, _ vs - or . vs -', () => {
    const ids = ['alice', 'Alice', 'ALICE', 'al_ice', 'al-ice', 'al.ice', 'a_lice', 'aLice'];
    const names = ids.map(directoryNameForId);
    expect(new Set(names).size).toBe(new Set(ids).size);
    // also on a case-insensitive file share
    expect(new Set(names.map((name) => name.toLowerCase())).size).toBe(new Set(ids).size);
  });

  it('is reversible for every valid id (so it is injective), case-free, and a single safe path segment', () => {
    fc.assert(
      fc.property(idArbitrary, (id) => {
        const name = directoryNameForId(id);
        expect(idFromDirectoryName(name)).toBe(id);
        expect(name).toBe(name.toLowerCase());
        expect(name).not.toMatch(/[/\\]/);
        expect(['.', '..', '']).not.toContain(name);
        expect(name.length).toBeLessThanOrEqual(255);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('workspace PVC names', () => {
  it('are readable, prefixed and hashed', () => {
    expect(workspaceClaimName('sandbox-', { scope: 'thread', user: 'Alice_Smith', thread: 'thread-42' })).toMatch(
      /^sandbox-alice-smith-thread-42-[a-z2-7]{20}$/,
    );
    expect(workspaceClaimName('ws-', { scope: 'user', user: 'bob' })).toMatch(/^ws-bob-[a-z2-7]{20}$/);
  });

  it('differ for ids whose readable forms collide', () => {
    const pairs: Array<[string, string]> = [
      ['alice', 'Alice'],
      ['al_ice', 'al-ice'],
      ['al.ice', 'al-ice'],
      ['a'.repeat(63), `${'a'.repeat(62)}b`],
    ];
    for (const [left, right] of pairs) {
      expect(workspaceClaimName('s-', { scope: 'user', user: left })).not.toBe(workspaceClaimName('s-', { scope: 'user', user: right }));
      expect(workspaceClaimName('s-', { scope: 'thread', user: 'u', thread: left })).not.toBe(
        workspaceClaimName('s-', { scope: 'thread', user: 'u', thread: right }),
      );
    }
  });

  it('cannot be mimicked by moving characters between user and thread, or across scopes', () => {
    const a = workspaceClaimName('s-', { scope: 'thread', user: 'ab', thread: 'c' });
    const b = workspaceClaimName('s-', { scope: 'thread', user: 'a', thread: 'bc' });
    const c = workspaceClaimName('s-', { scope: 'thread', user: 'a-b', thread: 'c' });
    const d = workspaceClaimName('s-', { scope: 'thread', user: 'a', thread: 'b-c' });
    expect(new Set([a, b, c, d]).size).toBe(4);
    expect(workspaceClaimName('s-', { scope: 'user', user: 'a' })).not.toBe(
      workspaceClaimName('s-', { scope: 'thread', user: 'a', thread: '' }),
    );
  });

  it('are valid DNS-1123 subdomains for every pair of valid ids and distinct for distinct pairs', () => {
    fc.assert(
      fc.property(idArbitrary, idArbitrary, idArbitrary, idArbitrary, (user1, thread1, user2, thread2) => {
        const first = workspaceClaimName('sandbox-', { scope: 'thread', user: user1, thread: thread1 });
        const second = workspaceClaimName('sandbox-', { scope: 'thread', user: user2, thread: thread2 });
        expect(dns1123SubdomainError(first)).toBeUndefined();
        expect(first.length).toBeLessThanOrEqual(253);
        if (user1 !== user2 || thread1 !== thread2) expect(first).not.toBe(second);
        else expect(first).toBe(second);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('workspace names of recently seen identities', () => {
  it('are the names a first computation gives, whatever was asked for in between, and keep prefixes apart', () => {
    const identities = Array.from({ length: 1500 }, (_, index) => ({ scope: 'thread' as const, user: `user-${index % 37}`, thread: `t${index}` }));
    const first = identities.map((identity) => workspaceNames('sandbox-', identity));
    // Asked again after more distinct identities than the memory holds, then in reverse order while it is warm.
    for (const [index, identity] of [...identities.entries(), ...[...identities.entries()].reverse()]) {
      const names = workspaceNames('sandbox-', identity);
      expect(names).toEqual(first[index]);
      expect(names.identityHash).toBe(workspaceIdentityHash(identity));
      expect(names.claimName).toBe(`sandbox-${identity.user}-${identity.thread}-${names.identityHash.slice(0, 20)}`);
    }
    // A prefix that ends the way another one's key would continue gets its own names.
    const user = { scope: 'user' as const, user: 'alice' };
    expect(workspaceNames('a-', user).claimName).toMatch(/^a-alice-/);
    expect(workspaceNames('a-"', user).claimName).toMatch(/^a-"alice-/);
    expect(workspaceNames('a-', user).claimName).toMatch(/^a-alice-/);
  });

  it('cannot be changed by a caller', () => {
    const names = workspaceNames('sandbox-', { scope: 'user', user: 'mallory' });
    expect(() => {
      (names as { claimName: string }).claimName = 'sandbox-alice';
    }).toThrow(TypeError);
    expect(workspaceNames('sandbox-', { scope: 'user', user: 'mallory' }).claimName).toMatch(/^sandbox-mallory-/);
  });
});

describe('subPath rendering', () => {
  it('renders each placeholder with the directory encoding', () => {
    const parsed = parseSubPathTemplate('users/{user}/threads/t-{thread}/user-data');
    expect(renderSubPath(parsed, { user: 'Alice_Smith', thread: 'T.1' })).toBe('users/_alice___smith/threads/t-_t.1/user-data');
  });

  it('is injective per identity for a valid template', () => {
    const parsed = parseSubPathTemplate('users/{user}/threads/{thread}');
    fc.assert(
      fc.property(idArbitrary, idArbitrary, idArbitrary, idArbitrary, (user1, thread1, user2, thread2) => {
        const first = renderSubPath(parsed, { user: user1, thread: thread1 });
        const second = renderSubPath(parsed, { user: user2, thread: thread2 });
        expect(first === second).toBe(user1 === user2 && thread1 === thread2);
        expect(first.split('/')).not.toContain('..');
      }),
      { numRuns: 2000 },
    );
  });
});
