import type { ColumnMap } from '../read/columns.ts';
import { CellMemo } from './cell-memo.ts';
import { isNaLike, keyOf } from '../values/keys.ts';
import { FNV_PRIME, FNV_START, finishHash, hashKey } from './key-index.ts';
import { MAX_KEY_BYTES, keyTooLong } from './key-budget.ts';
import type { Rejections } from './rejections.ts';

/** Set by `hashedKey`: `hashKey()` of the key it returned. */
let keyHash = 0;
/** Set by `RowKeys.key`: the key it read ('' for none). */
let memoKey = '';

/** Printable ASCII other than space: a cell that starts and ends so has nothing to trim. */
const untrimmable = (c: number): boolean => (c - 33) >>> 0 < 94;

/**
 * `keyOf(cell)`, hashed as it is read: the key tables' lookup then starts from the hash
 * instead of reading the key a second time. A cell with anything but printable ASCII takes
 * `keyOf` and `hashKey` apart, as before.
 */
function hashedKey(cell: string): string {
  const n = cell.length;
  // trim() is a builtin call per key; most cells have nothing to trim.
  const t =
    n > 0 && untrimmable(cell.charCodeAt(0)) && untrimmable(cell.charCodeAt(n - 1)) ? cell : cell.trim();
  let h = FNV_START;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if ((c - 32) >>> 0 >= 95) return slowHashedKey(t);
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  keyHash = finishHash(h);
  return t;
}

function slowHashedKey(trimmed: string): string {
  const k = keyOf(trimmed);
  keyHash = hashKey(k);
  return k;
}

/**
 * The customer, product and region keys of a row ('' for no key: blank or, v1.2, NA-like),
 * with their hashes (`hashKey`). Read before the row counts, so a key over MAX_KEY_BYTES
 * rejects the row untouched.
 */
export class RowKeys {
  customer = '';
  product = '';
  region = '';
  customerHash = 0;
  productHash = 0;
  regionHash = 0;
  /** Each key's `CellMemo` index (-1: not remembered), for `KeyedTotals.idOfMemo`. */
  customerMemo = -1;
  productMemo = -1;
  regionMemo = -1;
  private readonly customerCells = new CellMemo();
  private readonly productCells = new CellMemo();
  private readonly regionCells = new CellMemo();
  private readonly customerIdx: number;
  private readonly productIdx: number;
  private readonly regionIdx: number;

  constructor(
    columns: ColumnMap,
    private readonly rejections: Rejections,
  ) {
    this.customerIdx = columns.index.customer;
    this.productIdx = columns.index.product;
    this.regionIdx = columns.index.region;
  }

  /** Reads the three keys; false after rejecting the row for a key that is too long. */
  read(record: readonly string[], line: number): boolean {
    this.customerMemo = this.key(record, this.customerIdx, this.customerCells);
    this.customer = memoKey;
    this.customerHash = keyHash;
    this.productMemo = this.key(record, this.productIdx, this.productCells);
    this.product = memoKey;
    this.productHash = keyHash;
    this.regionMemo = this.key(record, this.regionIdx, this.regionCells);
    this.region = memoKey;
    this.regionHash = keyHash;
    const long = keyTooLong(this.customer)
      ? 'customer'
      : keyTooLong(this.product)
        ? 'product'
        : keyTooLong(this.region)
          ? 'region'
          : null;
    if (long === null) return true;
    this.rejections.reject(
      'keyTooLong',
      line,
      `${long} is longer than ${MAX_KEY_BYTES} bytes, the longest key Tally reads (a whole text pasted into one cell?)`,
    );
    return false;
  }

  /**
   * Reads the cell at `index` (-1: no such column, no key) into `memoKey` and `keyHash`;
   * returns its memo index (-1: not remembered).
   */
  private key(record: readonly string[], index: number, cells: CellMemo): number {
    if (index < 0) {
      memoKey = '';
      return -1;
    }
    const cell = record[index]!;
    const known = cells.indexOf(cell);
    if (known >= 0) {
      memoKey = cells.keys[known]!;
      keyHash = cells.hashes[known]!;
      return known;
    }
    const k = hashedKey(cell);
    memoKey = isNaLike(k) ? '' : k;
    return cells.remember(cell, memoKey, keyHash);
  }
}
