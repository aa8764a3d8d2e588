// Whether subPath templates that share one claim keep every owner's directory apart. A rendering of a template
// belongs to the identity's user, and also to its thread when the template uses {thread}. Two renderings that are
// equal, or one inside the other, are harmful unless they are guaranteed to have the same user and, when either
// template uses {thread}, the same thread: `users/{user}` beside `users/{user}-skills` gives user "alice-skills" the
// directory of user "alice", and `users/{user}` beside `users/{user}/threads/{thread}` lets one thread reach another.
//
// The check is per pair of templates (a template with itself included) and segment by segment: a rendering has as
// many segments as its template, so "equal or nested" means the first min(length) segments are pairwise equal.
// Each segment equation is classified exactly when it is one of
//   literal = literal                 (true or false),
//   literal = P{x}S                   (x pinned to the one id whose encoding is the middle, or no solution),
//   P{x}S = P{y}S                     (x = y: the encoding is injective),
//   prefixes or suffixes that differ  (no solution),
//   P A{x}B S = P{y}S with A or B unencodable as the start or end of an id (no solution),
// and "unknown" otherwise (e.g. `{user}` = `{user}-skills`, which holds for user "alice-skills" and user "alice").
// A pair is safe when some equation has no solution, or when all are known and the equalities and pins they imply
// force the same owner. Everything else is refused: sound by construction, conservative only for "unknown"
// equations that some other segment would have contradicted (documented in docs/policies.md).
import { labelValueError } from './kubernetes-names.ts';
import { directoryNameForId, idFromDirectoryName } from './identity-names.ts';
import { parseSubPathTemplate, renderSubPath, type TemplateVariable } from './subpath-template.ts';

/** A template and where it comes from, for messages. */
export interface PlacedTemplate {
  policy: string;
  mount: number;
  template: string;
}

export interface TemplateIdentity {
  user: string;
  thread?: string;
}

/** Two identities whose renderings of the two templates are equal or nested although their owners differ. */
export interface CollisionExample {
  first: TemplateIdentity;
  second: TemplateIdentity;
  firstPath: string;
  secondPath: string;
}

export interface TemplateCollision {
  first: PlacedTemplate;
  second: PlacedTemplate;
  /** Absent when the pair was refused without a collision being found (the conservative case). */
  example?: CollisionExample;
}

interface Segment {
  prefix: string;
  variable?: TemplateVariable;
  suffix: string;
}

function parseSegment(text: string): Segment {
  const match = /^(.*?)\{(user|thread)\}(.*)$/.exec(text);
  if (!match) return { prefix: text, suffix: '' };
  return { prefix: match[1] as string, variable: match[2] as TemplateVariable, suffix: match[3] as string };
}

/** The id whose directory name is exactly `name`, if `name` is the encoding of a valid id (a label value). */
export function idForDirectoryName(name: string): string | undefined {
  if (name === '') return undefined;
  const id = idFromDirectoryName(name);
  return directoryNameForId(id) === name && labelValueError(id) === undefined ? id : undefined;
}

/** Variables of the two sides: u1, t1 (first template's identity), u2, t2 (second's). */
type Slot = 'u1' | 't1' | 'u2' | 't2';
const slotOf = (variable: TemplateVariable, side: 1 | 2): Slot => `${variable === 'user' ? 'u' : 't'}${side}`;

type Equation =
  | { kind: 'true' }
  | { kind: 'impossible' }
  | { kind: 'pin'; slot: Slot; id: string }
  | { kind: 'equal'; a: Slot; b: Slot }
  | {
      kind: 'unknown';
      a: Slot;
      b: Slot;
      longer: 1 | 2;
      extraPrefix: string;
      extraSuffix: string;
      sameSide: boolean;
      /** Known finite solutions (slot → id), when the equation has no infinite family. */
      solutions: Array<Record<string, string>>;
    };

const encodedCharacter = /^[-a-z0-9._]$/;

/** Whether some valid encoding can start with `text` (a prefix of its token sequence or cutting into the last token). */
function canStartEncoding(text: string): boolean {
  if (text === '') return true;
  if (![...text].every((character) => encodedCharacter.test(character))) return false;
  // An id starts with a letter or digit: encoded as itself, or '_' + letter for an upper-case one.
  if (/^[a-z0-9]/.test(text)) return true;
  return text === '_' || /^_[a-z]/.test(text);
}

/** Whether some valid encoding can end with `text`. */
function canEndEncoding(text: string): boolean {
  if (text === '') return true;
  if (![...text].every((character) => encodedCharacter.test(character))) return false;
  // An id ends with a letter or digit, whose encoding ends with that lower-case letter or digit.
  return /[a-z0-9]$/.test(text);
}

/** Segment `a` of the first template against segment `b` of the second, rendered with any valid ids. */
function equation(a: Segment, b: Segment): Equation {
  if (a.variable === undefined && b.variable === undefined) return { kind: a.prefix === b.prefix ? 'true' : 'impossible' };
  if (a.variable === undefined || b.variable === undefined) {
    const [literal, placed, side] = a.variable === undefined ? [a.prefix, b, 2 as const] : [b.prefix, a, 1 as const];
    const { prefix, suffix } = placed;
    if (literal.length < prefix.length + suffix.length || !literal.startsWith(prefix) || !literal.endsWith(suffix)) {
      return { kind: 'impossible' };
    }
    const id = idForDirectoryName(literal.slice(prefix.length, literal.length - suffix.length));
    return id === undefined ? { kind: 'impossible' } : { kind: 'pin', slot: slotOf(placed.variable as TemplateVariable, side), id };
  }
  const slotA = slotOf(a.variable, 1);
  const slotB = slotOf(b.variable, 2);
  const shorterPrefix = a.prefix.length <= b.prefix.length ? a.prefix : b.prefix;
  const longerPrefix = a.prefix.length <= b.prefix.length ? b.prefix : a.prefix;
  const shorterSuffix = a.suffix.length <= b.suffix.length ? a.suffix : b.suffix;
  const longerSuffix = a.suffix.length <= b.suffix.length ? b.suffix : a.suffix;
  if (!longerPrefix.startsWith(shorterPrefix) || !longerSuffix.endsWith(shorterSuffix)) return { kind: 'impossible' };
  const extraPrefix = longerPrefix.slice(shorterPrefix.length);
  const extraSuffix = longerSuffix.slice(0, longerSuffix.length - shorterSuffix.length);
  if (extraPrefix === '' && extraSuffix === '') return { kind: 'equal', a: slotA, b: slotB };
  // Which side carries the extra text: with the prefix and suffix extras on one side, the other side's id encodes
  // to extraPrefix + (an encoding) + extraSuffix, so the extras must be able to start and end an encoding.
  const prefixSide: 1 | 2 = a.prefix.length > b.prefix.length ? 1 : 2;
  const suffixSide: 1 | 2 = a.suffix.length > b.suffix.length ? 1 : 2;
  const sameSide = extraPrefix === '' || extraSuffix === '' || prefixSide === suffixSide;
  const longer = extraPrefix !== '' ? prefixSide : suffixSide;
  if (!canStartEncoding(extraPrefix) || !canEndEncoding(extraSuffix)) {
    if (sameSide) return { kind: 'impossible' };
    // enc(s) + extraSuffix = extraPrefix + enc(p): enc(s) starts with extraPrefix (ruled out just now), or is a
    // shorter piece E of it with extraPrefix = E + C and extraSuffix = C + enc(p): finitely many, listed here.
    const [suffixSlot, prefixSlot] = prefixSide === 1 ? [slotB, slotA] : [slotA, slotB];
    const solutions: Array<Record<string, string>> = [];
    for (let cut = 1; cut < extraPrefix.length; cut += 1) {
      const shortId = idForDirectoryName(extraPrefix.slice(0, cut));
      const carried = extraPrefix.slice(cut);
      const longId = extraSuffix.startsWith(carried) ? idForDirectoryName(extraSuffix.slice(carried.length)) : undefined;
      if (shortId !== undefined && longId !== undefined) solutions.push({ [suffixSlot]: shortId, [prefixSlot]: longId });
    }
    if (solutions.length === 0) return { kind: 'impossible' };
    return { kind: 'unknown', a: slotA, b: slotB, longer, extraPrefix, extraSuffix, sameSide, solutions };
  }
  return { kind: 'unknown', a: slotA, b: slotB, longer, extraPrefix, extraSuffix, sameSide, solutions: [] };
}

class SlotClasses {
  private readonly parent = new Map<Slot, Slot>();
  private readonly pins = new Map<Slot, Set<string>>();

  find(slot: Slot): Slot {
    const parent = this.parent.get(slot) ?? slot;
    if (parent === slot) return slot;
    const root = this.find(parent);
    this.parent.set(slot, root);
    return root;
  }

  join(a: Slot, b: Slot): void {
    const rootA = this.find(a);
    const rootB = this.find(b);
    if (rootA !== rootB) this.parent.set(rootA, rootB);
  }

  pin(slot: Slot, id: string): void {
    this.pins.set(slot, (this.pins.get(slot) ?? new Set()).add(id));
  }

  /** The pinned values of each class; a class with two different values has no solution. */
  classPins(): Map<Slot, Set<string>> {
    const byRoot = new Map<Slot, Set<string>>();
    for (const [slot, values] of this.pins) {
      const root = this.find(slot);
      byRoot.set(root, new Set([...(byRoot.get(root) ?? []), ...values]));
    }
    return byRoot;
  }
}

interface ParsedPlaced {
  placed: PlacedTemplate;
  segments: Segment[];
  usesThread: boolean;
}

function parsePlaced(placed: PlacedTemplate): ParsedPlaced {
  const segments = placed.template.split('/').map(parseSegment);
  return { placed, segments, usesThread: segments.some((segment) => segment.variable === 'thread') };
}

/** The verdict for one pair: safe, or refused with the equations (for finding an example). */
function pairVerdict(first: ParsedPlaced, second: ParsedPlaced): { safe: true } | { safe: false; equations: Equation[] } {
  const depth = Math.min(first.segments.length, second.segments.length);
  const equations: Equation[] = [];
  for (let index = 0; index < depth; index += 1) {
    const found = equation(first.segments[index] as Segment, second.segments[index] as Segment);
    if (found.kind === 'impossible') return { safe: true };
    equations.push(found);
  }
  if (equations.some((found) => found.kind === 'unknown')) return { safe: false, equations };
  const classes = new SlotClasses();
  for (const found of equations) {
    if (found.kind === 'equal') classes.join(found.a, found.b);
    else if (found.kind === 'pin') classes.pin(found.slot, found.id);
  }
  const pins = classPinsChecked(classes);
  if (pins === undefined) return { safe: true }; // two different ids pinned to one id: no solution
  const same = (a: Slot, b: Slot) => {
    if (classes.find(a) === classes.find(b)) return true;
    const pinA = pins.get(classes.find(a));
    const pinB = pins.get(classes.find(b));
    return pinA !== undefined && pinA === pinB;
  };
  const threadMatters = first.usesThread || second.usesThread;
  if (same('u1', 'u2') && (!threadMatters || same('t1', 't2'))) return { safe: true };
  return { safe: false, equations };
}

function classPinsChecked(classes: SlotClasses): Map<Slot, string> | undefined {
  const single = new Map<Slot, string>();
  for (const [root, values] of classes.classPins()) {
    if (values.size > 1) return undefined;
    single.set(root, [...values][0] as string);
  }
  return single;
}

const exampleIds = ['alice', 'bob', 'carol', 'dave'];
/** Bounds the example search (it runs only for refused pairs, at load time). */
const maxCandidates = 60;

/** Whether the renderings of two templates for these identities are one owner's. */
function sameOwner(first: ParsedPlaced, second: ParsedPlaced, a: TemplateIdentity, b: TemplateIdentity): boolean {
  return a.user === b.user && (!(first.usesThread || second.usesThread) || a.thread === b.thread);
}

/**
 * Candidate ids, from the equations: pinned ids, and ids that make an unknown equation hold. One pool for every
 * slot, since equalities between slots (u1 = u2) need the same id on both sides.
 */
function candidateIds(equations: Equation[]): Set<string> {
  const candidates = new Set(exampleIds);
  const add = (encoded: string) => {
    const id = idForDirectoryName(encoded);
    if (id !== undefined) candidates.add(id);
  };
  for (const found of equations) if (found.kind === 'pin') candidates.add(found.id);
  // Ids derived in one round (and pinned ids) serve as bases in the next: equations chain through shared slots.
  for (let round = 0; round < 2 && candidates.size < maxCandidates; round += 1) {
    const bases = [...candidates].map(directoryNameForId);
    for (const found of equations) {
      if (found.kind !== 'unknown') continue;
      for (const solution of found.solutions) for (const id of Object.values(solution)) candidates.add(id);
      for (const base of bases) {
        // Same side: enc(short) = extraPrefix + enc(long) + extraSuffix. Opposite sides: enc(s) + extraSuffix =
        // extraPrefix + enc(p), solved by enc(s) = extraPrefix + W and enc(p) = W + extraSuffix.
        if (found.sameSide) add(found.extraPrefix + base + found.extraSuffix);
        else {
          add(found.extraPrefix + base);
          add(base + found.extraSuffix);
        }
      }
    }
  }
  return candidates;
}

/** A pair of identities showing the collision, searched among the ids the equations suggest. */
function findExample(first: ParsedPlaced, second: ParsedPlaced, equations: Equation[]): CollisionExample | undefined {
  const candidates = [...candidateIds(equations)];
  const threadMatters = first.usesThread || second.usesThread;
  const identities: TemplateIdentity[] = candidates.flatMap((user) =>
    threadMatters ? candidates.map((thread) => ({ user, thread })) : [{ user }],
  );
  const renderings = (side: ParsedPlaced) => {
    const parsed = parseSubPathTemplate(side.placed.template);
    const byPath = new Map<string, TemplateIdentity[]>();
    for (const identity of identities) {
      const path = renderSubPath(parsed, identity);
      byPath.set(path, [...(byPath.get(path) ?? []), identity]);
    }
    return byPath;
  };
  const firstPaths = renderings(first);
  const secondPaths = renderings(second);
  const trim = (identity: TemplateIdentity, usesThread: boolean) => (usesThread ? identity : { user: identity.user });
  // Every path of one side against the other side's paths at each of its depths: equal, or one inside the other.
  const search = (paths: Map<string, TemplateIdentity[]>, others: Map<string, TemplateIdentity[]>, swapped: boolean) => {
    for (const [path, owners] of paths) {
      const segments = path.split('/');
      for (let depth = 1; depth <= segments.length; depth += 1) {
        const prefix = segments.slice(0, depth).join('/');
        for (const other of others.get(prefix) ?? []) {
          for (const owner of owners) {
            const [a, b, firstPath, secondPath] = swapped ? [owner, other, path, prefix] : [other, owner, prefix, path];
            if (!sameOwner(first, second, a, b)) {
              return { first: trim(a, first.usesThread), second: trim(b, second.usesThread), firstPath, secondPath };
            }
          }
        }
      }
    }
    return undefined;
  };
  return search(secondPaths, firstPaths, false) ?? search(firstPaths, secondPaths, true);
}

/**
 * Every pair of templates (a template with itself included) whose renderings for different owners can be equal or
 * nested. `pairs` limits the check to some pairs (e.g. across two policies only); by default, all of them.
 */
export function findTemplateCollisions(
  templates: readonly PlacedTemplate[],
  pairs: (a: PlacedTemplate, b: PlacedTemplate) => boolean = () => true,
): TemplateCollision[] {
  const collisions: TemplateCollision[] = [];
  // The schema allows one placeholder per segment; two in one segment (`{user}{thread}`) split ambiguously.
  const ambiguous = (placed: PlacedTemplate) => placed.template.split('/').some((segment) => (segment.match(/\{(user|thread)\}/g) ?? []).length > 1);
  for (const placed of templates.filter(ambiguous)) collisions.push({ first: placed, second: placed });
  const parsed = templates.filter((placed) => !ambiguous(placed)).map(parsePlaced);
  for (let i = 0; i < parsed.length; i += 1) {
    for (let j = i; j < parsed.length; j += 1) {
      const first = parsed[i] as ParsedPlaced;
      const second = parsed[j] as ParsedPlaced;
      if (!pairs(first.placed, second.placed)) continue;
      const verdict = pairVerdict(first, second);
      if (verdict.safe) continue;
      const example = findExample(first, second, verdict.equations);
      collisions.push({ first: first.placed, second: second.placed, ...(example ? { example } : {}) });
    }
  }
  return collisions;
}

/** The same collision seen from the other template (so messages can start with the template they are about). */
export function reversedCollision(collision: TemplateCollision): TemplateCollision {
  const { example } = collision;
  return {
    first: collision.second,
    second: collision.first,
    ...(example ? { example: { first: example.second, second: example.first, firstPath: example.secondPath, secondPath: example.firstPath } } : {}),
  };
}

function describeIdentity(identity: TemplateIdentity, otherHasThread: boolean): string {
  return identity.thread === undefined
    ? `user ${JSON.stringify(identity.user)}${otherHasThread ? ' (any thread)' : ''}`
    : `user ${JSON.stringify(identity.user)} thread ${JSON.stringify(identity.thread)}`;
}

/** Why a collision is refused, e.g. `user "alice-skills" here and user "alice" there both get users/alice-skills`. */
export function describeCollision(collision: TemplateCollision): string {
  const { example } = collision;
  if (!example) {
    return 'the directories of different owners cannot be proven apart (only templates whose renderings are provably distinct are accepted)';
  }
  const a = describeIdentity(example.first, example.second.thread !== undefined);
  const b = describeIdentity(example.second, example.first.thread !== undefined);
  // "here": with the first template; "there": with the second.
  if (example.firstPath === example.secondPath) return `${a} here and ${b} there both get ${example.firstPath}`;
  return example.firstPath.length < example.secondPath.length
    ? `${a} gets ${example.firstPath} here, which contains ${example.secondPath} of ${b} there`
    : `${a} gets ${example.firstPath} here, inside ${example.secondPath} of ${b} there`;
}
