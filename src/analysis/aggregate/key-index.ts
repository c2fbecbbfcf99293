/**
 * String key → dense id: an open-addressing hash table over Int32Arrays (linear probing,
 * load ≤ 1/2) whose keys live as UTF-16 code units in one growing Uint16Array, not as JS
 * strings. Both choices are about a spilling table, which empties and refills every
 * `thresholdKeys` new keys:
 * - a Map grows from empty again after each clear (rehash after rehash, old tables left as
 *   garbage): on a 64 MiB file with 625k distinct customers its `idOf` was 30 % of the
 *   CPU profile (7.0 s CPU → 5.2 s with this table);
 * - key strings held in the table survive young-generation GCs, are promoted, and die at
 *   the next spill: old space filled with dead keys faster than V8 collected it, and the
 *   1 GiB / 10M-customer file passed 430 MiB RSS while still parsing. Kept as code units
 *   in an ArrayBuffer that is reused after a spill, the row's strings die young.
 * `clear()` keeps every capacity. The 32-bit hash is kept per id; spilling reuses it.
 */
export class KeyIndex {
  /**
   * Slot i is [hash, id + 1] at 2i (id + 1 = 0: empty): a probe compares hashes in the slot
   * and reads `starts[id]` only on a match. A 16-byte slot that also held the key's start
   * and length saved that read but held 32 bytes per key at load 1/2: the 1 GiB /
   * 10M-customer file peaked at 418 MiB RSS against 383 MiB with this one, and the 1M-row
   * file analysed no faster (P2 0.78/0.59× against 0.78/0.75×, alternating, same run).
   */
  private slots = new Int32Array(2 * 1024);
  private mask = 1023;
  /** Hash of each id's key. */
  hashes = new Int32Array(512);
  /** Key of id i: units[starts[i] .. starts[i + 1]). */
  units = new Uint16Array(8192);
  starts = new Int32Array(513);
  count = 0;
  private lastHash = 0;
  private lastKey = '';
  /** The key of the last `findUnits()`, as UTF-16LE bytes `[lastStart, lastStart + 2 × lastLength)` of it. */
  private lastBytes: Uint8Array | null = null;
  private lastStart = 0;
  private lastLength = 0;

  /** The id of `key`, or -1 (then `insert()` adds that same key). `h` is `hashKey(key)`. */
  find(key: string, h: number = hashKey(key)): number {
    this.lastHash = h;
    this.lastKey = key;
    this.lastBytes = null;
    const slots = this.slots;
    const mask = this.mask;
    const n = key.length;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const at = 2 * i;
      const s = slots[at + 1]!;
      if (s === 0) return -1;
      if (slots[at] === h) {
        const start = this.starts[s - 1]!;
        if (this.starts[s]! - start === n && this.equals(start, key)) return s - 1;
      }
    }
  }

  /**
   * `find` for a key given as `n` UTF-16LE code units at byte `start` of `bytes` (a spill
   * run's record), without making it a string; `h` is `hashUnits` of them. `insert()` then
   * copies the units from `bytes`, which must not change in between.
   */
  findUnits(bytes: Uint8Array, start: number, n: number, h: number): number {
    this.lastHash = h;
    this.lastBytes = bytes;
    this.lastStart = start;
    this.lastLength = n;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const at = 2 * i;
      const s = slots[at + 1]!;
      if (s === 0) return -1;
      if (slots[at] === h) {
        const from = this.starts[s - 1]!;
        if (this.starts[s]! - from === n && this.equalsUnits(from, bytes, start, n)) return s - 1;
      }
    }
  }

  /** The id in hash `h`'s home slot when that slot holds `h`, else -1: a look ahead (pending-counts.ts). */
  homeId(h: number): number {
    const at = 2 * (h & this.mask);
    return this.slots[at] === h ? this.slots[at + 1]! - 1 : -1;
  }

  /** The first unit of key `id` (read for the load: pending-counts.ts). */
  firstUnit(id: number): number {
    return this.units[this.starts[id]!]!;
  }

  private equals(start: number, key: string): boolean {
    const units = this.units;
    for (let i = 0; i < key.length; i++) if (units[start + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  private equalsUnits(from: number, bytes: Uint8Array, start: number, n: number): boolean {
    const units = this.units;
    for (let i = 0, b = start; i < n; i++, b += 2)
      if (units[from + i] !== (bytes[b]! | (bytes[b + 1]! << 8))) return false;
    return true;
  }

  /** Adds the key of the last `find()` or `findUnits()` (which returned -1) as id `count`; returns it. */
  insert(): number {
    const id = this.count;
    const bytes = this.lastBytes;
    const length = bytes === null ? this.lastKey.length : this.lastLength;
    if (id + 1 >= this.hashes.length) {
      const hashes = new Int32Array(this.hashes.length * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
      const starts = new Int32Array(this.hashes.length + 1);
      starts.set(this.starts);
      this.starts = starts;
    }
    const start = this.starts[id]!;
    const end = start + length;
    if (end > this.units.length) {
      let size = this.units.length * 2;
      while (size < end) size *= 2;
      const units = new Uint16Array(size);
      units.set(this.units.subarray(0, start));
      this.units = units;
    }
    const units = this.units;
    if (bytes === null) {
      const key = this.lastKey;
      for (let i = 0; i < length; i++) units[start + i] = key.charCodeAt(i);
    } else {
      for (let i = 0, b = this.lastStart; i < length; i++, b += 2)
        units[start + i] = bytes[b]! | (bytes[b + 1]! << 8);
    }
    this.starts[id + 1] = end;
    this.hashes[id] = this.lastHash;
    this.count = id + 1;
    if (this.count * 4 > this.slots.length) this.grow();
    else this.place(id, this.lastHash);
    return id;
  }

  keyOf(id: number): string {
    const start = this.starts[id]!;
    const end = this.starts[id + 1]!;
    return Buffer.from(this.units.buffer, start * 2, (end - start) * 2).toString('utf16le');
  }

  private place(id: number, h: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
    slots[2 * i] = h;
    slots[2 * i + 1] = id + 1;
  }

  /** Doubles the slots (load stays ≤ 1/2). */
  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.mask = this.slots.length / 2 - 1;
    for (let id = 0; id < this.count; id++) this.place(id, this.hashes[id]!);
  }

  /** Forgets every key; keeps the capacity. */
  clear(): void {
    this.slots.fill(0);
    this.count = 0;
    this.lastKey = '';
    this.lastBytes = null;
  }
}

/** FNV-1a's starting value and one step (row-keys.ts hashes a key as it reads it). */
export const FNV_START = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over UTF-16 code units with a murmur3 finaliser (well spread low bits). Fixed: a
 * split file's parts partition their spilled keys by it (spill/key-hash.ts) and the runs
 * are merged by whichever worker coordinates, possibly one of another release; two units
 * per step measured ~20 % faster on the bench's keys but would merge such runs wrongly.
 */
export function hashKey(key: string): number {
  let h = FNV_START;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return finishHash(h);
}

/** `hashKey` of the key whose `n` UTF-16LE code units start at byte `start` of `bytes`. */
export function hashUnits(bytes: Uint8Array, start: number, n: number): number {
  let h = FNV_START;
  for (let i = 0, b = start; i < n; i++, b += 2) {
    h ^= bytes[b]! | (bytes[b + 1]! << 8);
    h = Math.imul(h, FNV_PRIME);
  }
  return finishHash(h);
}

/** The murmur3 finaliser of `hashKey`, on an FNV-1a state. */
export function finishHash(state: number): number {
  let h = state;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
