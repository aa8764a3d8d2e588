// Cached watch objects hold many equal texts (namespace, label values, image, volume names, access modes) and equal
// parts (containers, mounts, the seed-script volume, a PVC's spec): one copy of each for the whole cache instead of
// one per object.

/**
 * One copy of each recurring text and of each recurring JSON part for all cached objects: JSON.parse gives every
 * object its own copies, most of a cached Pod view. Shared parts are frozen, so a change through one object throws
 * instead of silently changing the others. Bounded: each table is emptied when full, so texts and parts that do not
 * recur (thread names, claim names) cannot make it grow.
 */
export class SharedStrings {
  private readonly known = new Map<string, string>();
  private readonly parts = new Map<string, object>();
  private readonly capacity: number;
  private readonly partCapacity: number;

  constructor(capacity = 4096, partCapacity = 1024) {
    this.capacity = capacity;
    this.partCapacity = partCapacity;
  }

  intern(value: string): string {
    const known = this.known.get(value);
    if (known !== undefined) return known;
    if (this.known.size >= this.capacity) this.known.clear();
    this.known.set(value, value);
    return value;
  }

  /**
   * A copy of a JSON-like value with its strings interned and its undefined fields left out; each object or array
   * made only of JSON values (no Date) that equals one seen before is that earlier, frozen copy.
   */
  share<T>(value: T): T {
    return this.copy(value).value as T;
  }

  private copy(value: unknown): { value: unknown; json: boolean } {
    if (typeof value === 'string') return { value: this.intern(value), json: true };
    if (value === null || typeof value !== 'object') return { value, json: value !== undefined };
    if (value instanceof Date) return { value, json: false };
    let json = true;
    const take = (item: unknown) => {
      const copied = this.copy(item);
      json &&= copied.json;
      return copied.value;
    };
    // Object.fromEntries defines own properties: a key such as "__proto__" stays data, never a prototype.
    const copy = Array.isArray(value)
      ? value.map(take)
      : Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined).map(([key, item]) => [key, take(item)]));
    return { value: json ? this.recurring(copy) : copy, json };
  }

  private recurring(part: object): object {
    const key = JSON.stringify(part);
    const known = this.parts.get(key);
    if (known !== undefined) return known;
    if (this.parts.size >= this.partCapacity) this.parts.clear();
    this.parts.set(key, Object.freeze(part));
    return part;
  }
}
