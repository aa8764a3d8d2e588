// Cached watch objects hold many equal texts (namespace, label values, image, volume names, access modes): one
// copy of each for the whole cache instead of one per object.

/**
 * One copy of each recurring text (namespace, label and annotation values, image, volume and mount names) for all
 * cached Pods: JSON.parse gives every object its own copies, about half of a cached Pod view. Bounded: emptied when full, so texts
 * that do not recur (thread names, claim names) cannot make it grow.
 */
export class SharedStrings {
  private readonly known = new Map<string, string>();
  private readonly capacity: number;

  constructor(capacity = 4096) {
    this.capacity = capacity;
  }

  intern(value: string): string {
    const known = this.known.get(value);
    if (known !== undefined) return known;
    if (this.known.size >= this.capacity) this.known.clear();
    this.known.set(value, value);
    return value;
  }

  /** A copy of a JSON-like value with its strings interned and its undefined fields left out. */
  share<T>(value: T): T {
    if (typeof value === 'string') return this.intern(value) as T;
    if (Array.isArray(value)) return value.map((item: unknown) => this.share(item)) as T;
    if (value === null || typeof value !== 'object' || value instanceof Date) return value;
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) copy[key] = this.share(item);
    return copy as T;
  }
}

