import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelValueError } from '../../src/naming/kubernetes-names.ts';
import { directoryNameForId, idFromDirectoryName } from '../../src/naming/identity-names.ts';
import { describeCollision, findTemplateCollisions, type PlacedTemplate, type TemplateIdentity } from '../../src/naming/template-collisions.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { parsePolicies } from '../../src/policy/load.ts';
import { validatePolicyDocument } from '../../src/policy/validate.ts';

const placed = (templates: string[]): PlacedTemplate[] => templates.map((template, mount) => ({ policy: 'p', mount, template }));
const verdict = (...templates: string[]) => findTemplateCollisions(placed(templates));

// --- An oracle written independently of the checker: render, then compare every pair of renderings. ---

const usesThread = (template: string) => template.includes('{thread}');

function render(template: string, identity: TemplateIdentity): string {
  return template.replace(/\{(user|thread)\}/g, (_, name: string) => directoryNameForId(name === 'user' ? identity.user : (identity.thread as string)));
}

function equalOrNested(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** Different owners: different users, or (when either template uses {thread}) not provably the same thread. */
function differentOwners(first: string, second: string, a: TemplateIdentity, b: TemplateIdentity): boolean {
  if (a.user !== b.user) return true;
  if (!usesThread(first) && !usesThread(second)) return false;
  return !(usesThread(first) && usesThread(second) && a.thread === b.thread);
}

function harmful(first: string, second: string, a: TemplateIdentity, b: TemplateIdentity): boolean {
  return equalOrNested(render(first, a), render(second, b)) && differentOwners(first, second, a, b);
}

const validId = (id: string) => id !== '' && labelValueError(id) === undefined;
const idOf = (encoded: string) => {
  const id = idFromDirectoryName(encoded);
  return validId(id) && directoryNameForId(id) === encoded ? id : undefined;
};

/**
 * Ids made from the templates' own literals, which is how collisions are found: the middle of any literal text (an id
 * a placeholder can be pinned to), and an end of the text before a placeholder + a short id + a start of the text
 * after one (an id whose encoding swallows another template's affixes, like "alice-skills").
 */
function candidateIds(templates: string[]): string[] {
  const texts = new Set<string>();
  const ends = new Set<string>(['']);
  const starts = new Set<string>(['']);
  for (const template of templates) {
    for (const segment of template.split('/')) {
      const [prefix, suffix] = segment.split(/\{user\}|\{thread\}/) as [string, string | undefined];
      texts.add(prefix);
      if (suffix === undefined) continue;
      texts.add(suffix);
      for (let i = 0; i <= prefix.length; i += 1) ends.add(prefix.slice(i));
      for (let i = 0; i <= suffix.length; i += 1) starts.add(suffix.slice(0, i));
    }
  }
  const ids = new Set(['a', 'b']);
  const add = (encoded: string) => {
    const id = idOf(encoded);
    if (id !== undefined) ids.add(id);
  };
  for (const text of texts) for (let i = 0; i < text.length; i += 1) for (let j = i + 1; j <= text.length; j += 1) add(text.slice(i, j));
  for (const end of ends) for (const start of starts) add(`${end}a${start}`);
  return [...ids];
}

function identitiesFor(template: string, ids: string[]): TemplateIdentity[] {
  // A template without {thread} is rendered the same for every thread: one thread value is enough for it.
  const threads = usesThread(template) ? ids : ['a', 'b'];
  return ids.flatMap((user) => threads.map((thread) => ({ user, thread })));
}

/** A harmful pair of renderings, found by trying every candidate identity on every pair of templates. */
function bruteForceCollision(templates: string[]): { first: string; second: string; a: TemplateIdentity; b: TemplateIdentity } | undefined {
  const ids = candidateIds(templates);
  for (let i = 0; i < templates.length; i += 1) {
    for (let j = i; j < templates.length; j += 1) {
      const first = templates[i] as string;
      const second = templates[j] as string;
      const renderings = new Map<string, TemplateIdentity[]>();
      for (const a of identitiesFor(first, ids)) {
        const path = render(first, a);
        renderings.set(path, [...(renderings.get(path) ?? []), a]);
      }
      for (const b of identitiesFor(second, ids)) {
        const segments = render(second, b).split('/');
        for (let depth = 1; depth <= segments.length; depth += 1) {
          for (const a of renderings.get(segments.slice(0, depth).join('/')) ?? []) {
            if (differentOwners(first, second, a, b)) return { first, second, a, b };
          }
        }
        // The other nesting: a rendering of the first template inside this one.
        const path = segments.join('/');
        for (const [other, owners] of renderings) {
          if (other.startsWith(`${path}/`)) {
            for (const a of owners) if (differentOwners(first, second, a, b)) return { first, second, a, b };
          }
        }
      }
    }
  }
  return undefined;
}

// --- Generated templates, valid by the schema's rules: literals from a small alphabet, one placeholder per segment. ---

const literalSegment = fc.constantFrom('u', 'a', 'a-a', '_a', 'A', 'a_', '.a', '1');
const affix = fc.constantFrom('', '', '', '', '', '-', '_', 'a', '-a', 'a-', '_a', 'A', '1', 'a.');
const placeholderSegment = fc
  .tuple(affix, fc.constantFrom('user', 'user', 'thread'), affix)
  .map(([prefix, variable, suffix]) => `${prefix}{${variable}}${suffix}`);
const segment = fc.oneof({ arbitrary: literalSegment, weight: 1 }, { arbitrary: placeholderSegment, weight: 4 });
const template = fc
  .array(segment, { minLength: 1, maxLength: 3 })
  .map((segments) => segments.join('/'))
  .filter((text) => text.includes('{user}'));
const templateSet = fc.array(template, { minLength: 2, maxLength: 3 });

const labelValue = fc
  .string({ unit: fc.constantFrom('a', 'b', 'A', '1', '-', '_', '.'), minLength: 1, maxLength: 6 })
  .filter(validId);

function identityArbitrary(templates: string[]): fc.Arbitrary<TemplateIdentity> {
  const id = fc.oneof(fc.constantFrom(...candidateIds(templates)), labelValue);
  return fc.record({ user: id, thread: id });
}

const accepted = (templates: string[]) => verdict(...templates).length === 0;

describe('findTemplateCollisions: examples', () => {
  it.each([
    [['users/{user}', 'users/{user}-skills'], 'user "alice-skills" here and user "alice" there both get users/alice-skills'],
    [['users/{user}', 'users/{user}/threads/{thread}'], 'user "alice" (any thread) gets users/alice here, which contains users/alice/threads/alice of user "alice" thread "alice" there'],
    [['users/{user}', 'teams/{user}/{thread}', 'teams/{user}/skills'], 'user "alice" thread "skills" here and user "alice" (any thread) there both get teams/alice/skills'],
    [['{user}', 'x_{user}'], 'user "xAlice" here and user "alice" there both get x_alice'],
    [['users/{user}/x', 'users/admin/{user}'], 'user "admin" here and user "x" there both get users/admin/x'],
    [['{user}/{thread}', '{thread}/{user}'], 'user "bob" thread "alice" here and user "alice" thread "bob" there both get bob/alice'],
    [['{user}-a', 'b-{user}'], 'user "b-alice" here and user "alice-a" there both get b-alice-a'],
  ])('refuses %j: %s', (templates, message) => {
    const collisions = verdict(...templates);
    expect(collisions).toHaveLength(1);
    expect(describeCollision(collisions[0]!)).toBe(message);
  });

  it.each([
    [['users/{user}/threads/{thread}/user-data', 'users/{user}/skills']],
    [['users/{user}/threads/{thread}/user-data', 'users/{user}/threads/{thread}/user-data']],
    [['u-{user}', 't-{user}']],
    [['{user}.home', '{user}.cache']],
    [['users/{user}', 'users/-x/{user}']], // "-x" is no valid id
    [['users/{user}', 'users/{user}A']], // no encoding contains an upper-case letter
    [['users/{user}', 'users/{user}-']], // no id ends with '-'
    [['users/{user}', 'teams/{user}/threads/{thread}', 'teams/{user}/skills']],
  ])('accepts %j', (templates) => {
    expect(verdict(...templates)).toEqual([]);
  });

  it('refuses two placeholders in one segment, although the schema already does', () => {
    expect(verdict('users/{user}{thread}')).toHaveLength(1);
    const document = {
      apiVersion: 'sandbox-storage.io/v1alpha1',
      kind: 'SandboxStoragePolicy',
      metadata: { name: 'p' },
      spec: { mode: 'shared', shared: { claimName: 'data', mounts: [{ subPath: 'users/{user}{thread}', mountPath: '/sandbox' }] } },
    };
    expect(validatePolicyDocument(document).errors.map((error) => error.field)).toContain('spec.shared.mounts[0].subPath');
  });

  it('is conservative where one segment alone cannot decide (documented): a contradiction spread over two segments', () => {
    // u2 = u1 + "-x" and u1 = u2 + "-x" cannot both hold, but the checker reasons segment by segment.
    expect(bruteForceCollision(['a/{user}-x/{user}', 'a/{user}/{user}-x'])).toBeUndefined();
    expect(verdict('a/{user}-x/{user}', 'a/{user}/{user}-x')).toHaveLength(1);
  });

  it('accepts the shipped examples and the embedded default', () => {
    const files = ['examples/policies/shared.yaml', 'examples/policies/workspace.yaml', 'examples/shared-policy.yaml'];
    const policies = [...files.flatMap((file) => parsePolicies(readFileSync(file, 'utf8'), file)), ...embeddedDefaultPolicies()];
    for (const policy of policies) {
      const templates = policy.spec.shared.mounts.map((mount, index) => ({ policy: policy.name, mount: index, template: mount.subPath }));
      expect(findTemplateCollisions(templates)).toEqual([]);
    }
  });
});

describe('findTemplateCollisions: properties', () => {
  it('the generators reach both verdicts and the oracle finds collisions', () => {
    const sample = fc.sample(templateSet, { seed: 7, numRuns: 300 });
    expect(sample.filter(accepted).length).toBeGreaterThan(30);
    expect(sample.filter((templates) => !accepted(templates)).length).toBeGreaterThan(30);
    expect(sample.filter((templates) => bruteForceCollision(templates) !== undefined).length).toBeGreaterThan(30);
  });

  it('an accepted set has no two renderings for different owners that are equal or nested', () => {
    const acceptedSetWithIdentities = templateSet
      .filter(accepted)
      .chain((templates) =>
        fc.tuple(fc.constant(templates), fc.nat(templates.length - 1), fc.nat(templates.length - 1), identityArbitrary(templates), identityArbitrary(templates)),
      );
    fc.assert(
      fc.property(acceptedSetWithIdentities, ([templates, i, j, a, b]) => {
        expect(harmful(templates[i] as string, templates[j] as string, a, b)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('every set in which a brute-force search finds a collision is refused', () => {
    fc.assert(
      fc.property(templateSet, (templates) => {
        if (bruteForceCollision(templates) !== undefined) expect(accepted(templates)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('the example a refusal gives is a real collision between valid ids', () => {
    fc.assert(
      fc.property(templateSet, (templates) => {
        for (const collision of verdict(...templates)) {
          if (!collision.example) continue;
          const { first, second, firstPath, secondPath } = collision.example;
          for (const id of [first.user, first.thread, second.user, second.thread]) if (id !== undefined) expect(validId(id)).toBe(true);
          expect(render(collision.first.template, first)).toBe(firstPath);
          expect(render(collision.second.template, second)).toBe(secondPath);
          expect(harmful(collision.first.template, collision.second.template, { thread: 'any-thread', ...first }, { thread: 'other-thread', ...second })).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('most refusals come with an example', () => {
    const refusals = fc.sample(templateSet, { seed: 11, numRuns: 300 }).flatMap((templates) => verdict(...templates));
    expect(refusals.filter((collision) => collision.example !== undefined).length).toBeGreaterThan(refusals.length * 0.8);
  });
});
