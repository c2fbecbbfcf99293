import { FAST_LIMIT } from '../values/money.ts';
import { MAX_MEMO_CELLS } from './cell-memo.ts';
import { KeyIndex, hashKey, hashUnits } from './key-index.ts';
import { PARTITIONS } from '../spill/key-hash.ts';
import type { RecordWriter } from '../spill/record-codec.ts';
import { RecordReader } from '../spill/record-codec.ts';
import type { SpillRun, SpillSetup } from '../spill/spill-store.ts';
import { KEY_OVERHEAD_BYTES } from './key-budget.ts';
import { encodeRun } from './spill-run.ts';
import type { BudgetedTable, KeyBudget } from './key-budget.ts';

/** Waits between partitions of a spilled table's merge (a turn of the event loop, a cancel check). */
export type Pause = () => Promise<void>;

/**
 * Net revenue and transaction count per distinct key (customer, product, region). Sums are
 * exact: a key's number partial moves into a BigInt map before it could pass 2^53.
 *
 * Per-key state sits side by side in one Float64Array (`stride` slots per id: revenue,
 * transactions, then subclass fields): one cache miss per row instead of one per field.
 * On the 1M-row bench (50k customers) the customer column alone cost ~1.1 µs per row with
 * a typed array per field plus a per-customer month list; records and the month bit
 * window below took the whole analysis from 0.61 to ~0.69 of csv-parse's speed. What is
 * left is the lookup of a fresh string in a 50k-entry table (~0.45 µs, cache misses): a
 * Map and the open-addressing `KeyIndex` measured the same there; spilling needs the
 * latter (see key-index.ts).
 *
 * Bounded memory (with a `SpillSetup`): when a new key would make the table hold more
 * than `thresholdKeys`, the whole table is written out as one run of partial aggregates,
 * grouped by a hash partition of the key, and the table starts empty. `visit` then merges
 * partition by partition: every key of a partition is in that partition in every run, so
 * one partition's merge yields exact per-key totals while holding ~1/128 of the keys. A
 * partition still over the threshold spills again at the next level (re-mixed hash bits).
 * Ids handed out by `idOf` stay valid until the next `idOf` call.
 */
export class KeyedTotals implements BudgetedTable {
  private index = new KeyIndex();
  /** Bytes of the keys held in memory, as the key budget counts them. */
  heldBytes = 0;
  private readonly budget: KeyBudget | undefined;
  data: Float64Array;
  /** BigInt parts of sums that passed 2^52 (rare). */
  private bigParts: Map<number, bigint> | undefined;
  private readonly runs: SpillRun[] = [];
  /** `CellMemo` index → id + 1 (0: not seen since the table was last emptied); see `idOfMemo`. */
  private memoIds: Int32Array | undefined;

  constructor(
    readonly stride = 2,
    protected readonly spillSetup?: SpillSetup,
    protected readonly level = 0,
  ) {
    this.data = new Float64Array(256 * stride);
    // Merge tables (level > 0) hold one partition at a time and spill by key count alone.
    this.budget = level === 0 ? spillSetup?.budget : undefined;
    this.budget?.register(this);
  }

  /** Keys held in memory now (all distinct keys unless the table has spilled). */
  get size(): number {
    return this.index.count;
  }

  /** Has any part of this table been written to the spill store? */
  get spilled(): boolean {
    return this.runs.length > 0;
  }

  /** The id of `key`, a new one for a new key; `hash` is `hashKey(key)` when the caller has it. */
  idOf(key: string, hash: number = hashKey(key)): number {
    const id = this.index.find(key, hash);
    if (id >= 0) return id;
    // `makeRoom` may have emptied or replaced the index: find again there, for `insert`.
    if (this.spillSetup !== undefined && this.makeRoom(key.length)) this.index.find(key, hash);
    return this.newId();
  }

  /**
   * `idOf` for a key read from a spill run: `n` UTF-16LE code units at byte `start` of
   * `bytes`, never made a string. A merge looks up every spilled record's key; as strings
   * (decode, hash, compare) they were ~4 s of a 53 s CPU profile of the 1 GiB /
   * 10M-customer file (C2, 2026-12-06).
   */
  private idOfUnits(bytes: Uint8Array, start: number, n: number): number {
    const hash = hashUnits(bytes, start, n);
    const id = this.index.findUnits(bytes, start, n, hash);
    if (id >= 0) return id;
    if (this.spillSetup !== undefined && this.makeRoom(n)) this.index.findUnits(bytes, start, n, hash);
    return this.newId();
  }

  /** Adds the key its index last did not find, with fresh per-key state. */
  private newId(): number {
    const id = this.index.insert();
    const base = id * this.stride;
    if (base + this.stride > this.data.length) {
      const data = new Float64Array(this.data.length * 2);
      data.set(this.data);
      this.data = data;
    }
    this.created(base);
    return id;
  }

  /**
   * `idOf` for a key its column remembered (`CellMemo` index `memo`, -1: none): the id
   * this table gave that key, kept per index, so a repeated product or region costs one
   * array read instead of a probe and a compare loop. Emptied whenever the table is.
   */
  idOfMemo(memo: number, key: string, hash: number): number {
    if (memo < 0) return this.idOf(key, hash);
    const ids = (this.memoIds ??= new Int32Array(MAX_MEMO_CELLS));
    const known = ids[memo]!;
    if (known > 0) return known - 1;
    const id = this.idOf(key, hash); // a spill in there zeroes `ids`: written after it
    ids[memo] = id + 1;
    return id;
  }

  /** The id `hash`'s home slot holds, or -1; reads and changes nothing else (pending-counts.ts). */
  homeId(hash: number): number {
    return this.index.homeId(hash);
  }

  /**
   * Reads what `idOf`, `add` and `CustomerTotals.addMonth` will read for `id`: its key's
   * first unit and both ends of its record (6 numbers, 48 bytes, span two cache lines for
   * most ids). Returns a value for the caller to keep, so the loads are not optimised away.
   */
  touch(id: number): number {
    const base = id * this.stride;
    return this.index.firstUnit(id) ^ (this.data[base]! | 0) ^ (this.data[base + this.stride - 1]! | 0);
  }

  /**
   * Before a new key of `length` code units: spill past the key threshold or the shared
   * byte budget. True when this table may have spilled (its index emptied or replaced).
   */
  private makeRoom(length: number): boolean {
    let spilled = false;
    if (this.index.count >= this.spillSetup!.thresholdKeys) {
      this.flush();
      spilled = true;
    }
    const budget = this.budget;
    if (budget === undefined) return spilled;
    const cost = length * 2 + KEY_OVERHEAD_BYTES;
    if (budget.held + cost > budget.limitBytes) {
      budget.makeRoom(cost);
      spilled = true;
    }
    this.heldBytes += cost;
    budget.held += cost;
    return spilled;
  }

  spillForBudget(): void {
    if (this.index.count > 0) this.flush();
    this.release();
  }

  /** The key of `id`. */
  keyOf(id: number): string {
    return this.index.keyOf(id);
  }

  /** Hook for subclasses keeping more per-key state; `base` is the id's first slot. */
  protected created(_base: number): void {}

  /** Adds one transaction of `micro` (|micro| ≤ 2^52) to key `id`. */
  add(id: number, micro: number): void {
    const data = this.data;
    const base = id * this.stride;
    const v = data[base]! + micro;
    if (v > FAST_LIMIT || v < -FAST_LIMIT) {
      this.addBig(id, BigInt(v));
      data[base] = 0;
    } else {
      data[base] = v;
    }
    data[base + 1]!++;
  }

  /** Adds to the exact sum without counting a transaction. */
  addBig(id: number, micro: bigint): void {
    this.bigParts ??= new Map();
    this.bigParts.set(id, (this.bigParts.get(id) ?? 0n) + micro);
  }

  /** Counts one transaction without an amount (the amount went through `addBig`). */
  countTransaction(id: number): void {
    this.data[id * this.stride + 1]!++;
  }

  transactions(id: number): number {
    return this.data[id * this.stride + 1]!;
  }

  total(id: number): bigint {
    return (this.bigParts?.get(id) ?? 0n) + BigInt(this.data[id * this.stride]!);
  }

  /** The total when it is a plain number (no BigInt part), else NaN. Exact. */
  smallTotal(id: number): number {
    return this.bigParts?.has(id) === true ? NaN : this.data[id * this.stride]!;
  }

  /** For ranking only: the total as a float (exact below 2^53 micro-units). */
  approx(id: number): number {
    const lo = this.data[id * this.stride]!;
    const s = this.bigParts?.get(id);
    return s === undefined ? lo : lo + Number(s);
  }

  /**
   * Calls `fn` once per distinct key with its exact totals (through `fn`'s table and id,
   * valid during the call only). Merges and removes the spilled runs; `pause` runs between
   * partitions. The table is empty afterwards if it had spilled.
   */
  async visit(fn: (table: this, id: number) => void, pause: Pause): Promise<void> {
    if (this.runs.length === 0) {
      for (let id = 0; id < this.index.count; id++) fn(this, id);
      return;
    }
    if (this.index.count > 0) this.flush();
    this.release();
    const store = this.spillSetup!.store;
    // One table for every partition, cleared in between: its arrays reach one partition's
    // size once instead of growing again (and leaving garbage) 128 times.
    const merged = this.child();
    try {
      for (let part = 0; part < PARTITIONS; part++) {
        if (this.runs.every((run) => run.bounds[part] === run.bounds[part + 1])) continue;
        for (const run of this.runs) {
          const reader = new RecordReader(store.read(run, part));
          while (!reader.done) merged.readRecord(reader);
        }
        await merged.visit(fn, pause);
        merged.clear();
        await pause();
      }
    } finally {
      for (const run of this.runs) store.remove(run);
      this.runs.length = 0;
    }
  }

  /** A split file's part hands its table on as whole runs (memory flushed as one more), leaving none. */
  takeRuns(): { bytes: Buffer; bounds: Int32Array }[] {
    if (this.index.count > 0) this.flush();
    this.release();
    const store = this.spillSetup!.store;
    const out = this.runs.map((run) => {
      const pieces: Buffer[] = [];
      for (let p = 0; p < PARTITIONS; p++) pieces.push(Buffer.from(store.read(run, p)));
      return { bytes: Buffer.concat(pieces), bounds: Int32Array.from(run.bounds) };
    });
    for (const run of this.runs) store.remove(run);
    this.runs.length = 0;
    return out;
  }

  /** The merge of a split file: one part's run joins this table's runs, merged by `visit`. */
  adoptRun(bytes: Uint8Array, bounds: Int32Array): void {
    this.runs.push(this.spillSetup!.store.write([bytes], bounds));
  }

  /** An empty table of the same kind one spill level down. */
  protected child(): this {
    return new KeyedTotals(this.stride, this.spillSetup, this.level + 1) as this;
  }

  /** Writes every key in memory as one run and empties the table. */
  protected flush(): void {
    const setup = this.spillSetup!;
    const run = encodeRun(this.index.count, this.index.hashes, this.level, (w, id) =>
      this.writeRecord(w, id),
    );
    this.runs.push(setup.store.write(run.pieces, run.bounds));
    this.clear();
    if (this.budget !== undefined) this.budget.held -= this.heldBytes;
    this.heldBytes = 0;
  }

  protected writeRecord(w: RecordWriter, id: number): void {
    const base = id * this.stride;
    const { starts, units } = this.index;
    w.units(units, starts[id]!, starts[id + 1]!);
    w.f64(this.data[base]!);
    w.f64(this.data[base + 1]!);
    w.big(this.bigParts?.get(id));
  }

  /** Adds one spilled record to this table; returns its id for subclasses. */
  protected readRecord(r: RecordReader): number {
    const n = r.keyUnits();
    const id = this.idOfUnits(r.bytes, r.keyStart, n);
    const base = id * this.stride;
    const data = this.data;
    // Both parts are ≤ 2^52 in magnitude, so their sum is exact before the check.
    const v = data[base]! + r.f64();
    if (v > FAST_LIMIT || v < -FAST_LIMIT) {
      this.addBig(id, BigInt(v));
      data[base] = 0;
    } else {
      data[base] = v;
    }
    data[base + 1]! += r.f64();
    const big = r.big();
    if (big !== 0n) this.addBig(id, big);
    return id;
  }

  /** Gives back the arrays sized for `thresholdKeys` (the merge needs ~1/128 of them). */
  protected release(): void {
    this.memoIds?.fill(0);
    this.index = new KeyIndex();
    this.data = new Float64Array(256 * this.stride);
  }

  protected clear(): void {
    this.memoIds?.fill(0);
    this.index.clear();
    this.data.fill(0);
    this.bigParts = undefined;
  }
}
