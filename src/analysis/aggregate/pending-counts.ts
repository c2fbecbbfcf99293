import type { CurrencyTotals } from './totals.ts';

/** The key fields `countKeys` reads: `RowKeys` for a row counted at once, a `PendingRow` when batched. */
export interface RowKeyFields {
  readonly customer: string;
  readonly product: string;
  readonly region: string;
  readonly customerHash: number;
  readonly productHash: number;
  readonly regionHash: number;
  readonly customerMemo: number;
  readonly productMemo: number;
  readonly regionMemo: number;
}

/**
 * One valid row waiting to be counted (an amount below BIG, no refunded part). Its key fields
 * repeat `RowKeys`' on purpose: with both extending one base class, the 1M-row analysis took
 * 4.6–4.8 s of CPU in 3 of 4 runs against 3.0–3.3 s as written here (`npx tsx
 * bench/analysis.bench.ts --no-competitors --runs 3`, alternating, quiet machine).
 */
export class PendingRow implements RowKeyFields {
  totals: CurrencyTotals | null = null;
  day = 0;
  line = 0;
  micro = 0;
  customer = '';
  product = '';
  region = '';
  customerHash = 0;
  productHash = 0;
  regionHash = 0;
  customerMemo = -1;
  productMemo = -1;
  regionMemo = -1;
  /** The customer id its hash's home slot holds (-1: none, or not looked at). */
  homeId = -1;
}

/**
 * Rows held back so their customer lookups overlap. Counting a row looks its customer up in
 * a table of tens of thousands of keys: the slot, the key's start, its units and its
 * record are each a cache miss on a large file, and each waits for the one before. Row by
 * row those misses ran one after another: on the 1M-row bench (50k customers in two
 * currencies) the customer lookup alone cost ~0.75 s of CPU per run, ~70 % of what the
 * analysis adds to csv-parse, against ~0.1 µs per lookup in a loop on its own. Here the
 * lookups of `ROWS` rows are touched first, in loops whose iterations do not depend on one
 * another, so the processor has many misses in flight; the rows are then counted in their
 * order as before, from the cache. Same process, alternating, median of 4: 4.33 s CPU per
 * analysis held back without touching, 3.79 s touched (csv-parse alone 2.97 s).
 *
 * Touching reads and changes nothing: every table sees the same calls in the same order as
 * without the batch, so ids, spills and results stay the same to the byte.
 */
export class PendingCounts {
  /** Rows per batch. */
  static readonly ROWS = 64;
  readonly rows: PendingRow[] = Array.from({ length: PendingCounts.ROWS }, () => new PendingRow());
  length = 0;
  /** Keeps the touching loads from being optimised away. */
  private sink = 0;

  /** The next free row to fill (the caller then increments `length`). */
  next(): PendingRow {
    return this.rows[this.length]!;
  }

  get full(): boolean {
    return this.length === PendingCounts.ROWS;
  }

  /** Loads what counting the held rows' customers will read, many rows at a time. */
  touch(): void {
    const rows = this.rows;
    const n = this.length;
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      const customers = row.totals!.customers;
      // A remembered cell (customerMemo ≥ 0) is found through the memo's small array.
      row.homeId =
        customers === null || row.customer === '' || row.customerMemo >= 0
          ? -1
          : customers.homeId(row.customerHash);
    }
    let sink = this.sink;
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      if (row.homeId >= 0) sink ^= row.totals!.customers!.touch(row.homeId);
    }
    this.sink = sink;
  }
}
