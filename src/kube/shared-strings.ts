// Cached watch objects hold many equal texts (namespace, label values, image, volume names, access modes) and equal
// parts (containers, mounts, the seed-script volume, a PVC's spec): one copy of each for the whole cache instead of
// one per object.

/** Parts whose JSON is longer are not looked up: big values rarely recur, and the table keeps each part's JSON. */
const maxPartJsonLength = 2048;

/**
 * One copy of each recurring text and of each recurring small JSON part for all cached objects: JSON.parse gives
 * every object its own copies, most of a cached Pod view. Shared parts are frozen, so a change through one object
 * throws instead of silently changing the others. Bounded: each table is emptied when full, so texts and parts that
 * do not recur (thread names, claim names) cannot make it grow; parts estimated above 2 KB of JSON are neither
 * serialised nor kept, so large values (annotations a tenant chose) cost no big key and no repeated serialisation.
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
   * A copy of a JSON-like value with its strings interned and its undefined fields left out; each small object or
   * array made only of JSON values (no Date) that equals one seen before is that earlier, frozen copy.
   */
  share<T>(value: T): T {
    return this.copy(value).value as T;
  }

  /**
   * The copy, and an estimate of its JSON length when it is a JSON value (no Date, no undefined item, no NaN):
   * only parts estimated small are serialised for the lookup.
   */
  private copy(value: unknown): { value: unknown; size: number | undefined } {
    if (typeof value === 'string') return { value: this.intern(value), size: value.length + 2 };
    if (typeof value === 'number') return { value, size: Number.isFinite(value) ? 24 : undefined };
    if (typeof value === 'boolean' || value === null) return { value, size: 5 };
    if (typeof value !== 'object' || value instanceof Date) return { value, size: undefined };
    let size: number | undefined = 2;
    const take = (item: unknown, keyLength: number) => {
      const copied = this.copy(item);
      size = size === undefined || copied.size === undefined ? undefined : size + keyLength + copied.size + 1;
      return copied.value;
    };
    // Object.fromEntries defines own properties: a key such as "__proto__" stays data, never a prototype.
    const copy = Array.isArray(value)
      ? value.map((item: unknown) => take(item, 0))
      : Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined).map(([key, item]) => [key, take(item, key.length + 3)]));
    const known = size !== undefined && size <= maxPartJsonLength ? this.recurring(JSON.stringify(copy), copy) : copy;
    return { value: known, size };
  }

  private recurring(json: string, part: object): object {
    const known = this.parts.get(json);
    if (known !== undefined) return known;
    if (this.parts.size >= this.partCapacity) this.parts.clear();
    this.parts.set(json, Object.freeze(part));
    return part;
  }
}
