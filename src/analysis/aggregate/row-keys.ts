import type { ColumnMap } from '../read/columns.ts';
import { isNaLike, keyOf } from '../values/keys.ts';
import { FNV_PRIME, FNV_START, finishHash, hashKey } from './key-index.ts';
import { MAX_KEY_BYTES, keyTooLong } from './key-budget.ts';
import type { Rejections } from './rejections.ts';

/** Set by `hashedKey`: `hashKey()` of the key it returned. */
let keyHash = 0;

/**
 * `keyOf(cell)`, hashed as it is read: the key tables' lookup then starts from the hash
 * instead of reading the key a second time (three keys per valid row). A cell with anything
 * but printable ASCII takes `keyOf` and `hashKey` apart, as before.
 */
function hashedKey(cell: string): string {
  const t = cell.trim();
  let h = FNV_START;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if ((c - 32) >>> 0 >= 95) {
      const k = keyOf(t);
      keyHash = hashKey(k);
      return k;
    }
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  keyHash = finishHash(h);
  return t;
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
    this.customer = this.customerIdx < 0 ? '' : this.key(record[this.customerIdx]!);
    this.customerHash = keyHash;
    this.product = this.productIdx < 0 ? '' : this.key(record[this.productIdx]!);
    this.productHash = keyHash;
    this.region = this.regionIdx < 0 ? '' : this.key(record[this.regionIdx]!);
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

  private key(cell: string): string {
    const k = hashedKey(cell);
    return isNaLike(k) ? '' : k;
  }
}
