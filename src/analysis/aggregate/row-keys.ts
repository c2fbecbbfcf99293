import type { ColumnMap } from '../read/columns.ts';
import { isNaLike, keyOf } from '../values/keys.ts';
import { MAX_KEY_BYTES, keyTooLong } from './key-budget.ts';
import type { Rejections } from './rejections.ts';

/**
 * The customer, product and region keys of a row ('' for no key: blank or, v1.2, NA-like).
 * Read before the row counts, so a key over MAX_KEY_BYTES rejects the row untouched.
 */
export class RowKeys {
  customer = '';
  product = '';
  region = '';
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
    this.product = this.productIdx < 0 ? '' : this.key(record[this.productIdx]!);
    this.region = this.regionIdx < 0 ? '' : this.key(record[this.regionIdx]!);
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
    const k = keyOf(cell);
    return isNaLike(k) ? '' : k;
  }
}
