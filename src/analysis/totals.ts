import { FAST_LIMIT, MoneySum } from './money.ts';

/**
 * Net revenue and transaction count per distinct key (customer, product, region) in
 * growable typed arrays: memory grows with distinct keys, never with rows. Sums are exact:
 * a key's number partial spills into a BigInt map before it could pass 2^53.
 */
export class KeyedTotals {
  readonly ids = new Map<string, number>();
  readonly keys: string[] = [];
  lo = new Float64Array(256);
  tx = new Uint32Array(256);
  private spill: Map<number, bigint> | undefined;

  get size(): number {
    return this.keys.length;
  }

  protected grow(capacity: number): void {
    const lo = new Float64Array(capacity);
    lo.set(this.lo);
    this.lo = lo;
    const tx = new Uint32Array(capacity);
    tx.set(this.tx);
    this.tx = tx;
  }

  idOf(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      if (id === this.lo.length) this.grow(id * 2);
      this.ids.set(key, id);
      this.keys.push(key);
    }
    return id;
  }

  add(id: number, micro: number): void {
    const v = this.lo[id]! + micro;
    if (v > FAST_LIMIT || v < -FAST_LIMIT) {
      this.addBig(id, BigInt(v));
      this.lo[id] = 0;
    } else {
      this.lo[id] = v;
    }
    this.tx[id]!++;
  }

  /** Adds to the exact sum without counting a transaction. */
  addBig(id: number, micro: bigint): void {
    this.spill ??= new Map();
    this.spill.set(id, (this.spill.get(id) ?? 0n) + micro);
  }

  total(id: number): bigint {
    return (this.spill?.get(id) ?? 0n) + BigInt(this.lo[id]!);
  }

  /** For ranking only: the total as a float (exact below 2^53 micro-units). */
  approx(id: number): number {
    const s = this.spill?.get(id);
    return s === undefined ? this.lo[id]! : this.lo[id]! + Number(s);
  }
}

const NONE = -2147483648;

/**
 * Customer totals plus the months each customer bought in, for cohorts and monthly
 * customer counts: the first month seen in an Int32Array, further distinct months in a
 * small array only for customers who come back (most rows repeat the last month, which
 * `last` answers without a lookup).
 */
export class CustomerTotals extends KeyedTotals {
  first = new Int32Array(256).fill(NONE);
  last = new Int32Array(256).fill(NONE);
  readonly more: (number[] | undefined)[] = [];

  protected override grow(capacity: number): void {
    super.grow(capacity);
    const first = new Int32Array(capacity).fill(NONE);
    first.set(this.first);
    this.first = first;
    const last = new Int32Array(capacity).fill(NONE);
    last.set(this.last);
    this.last = last;
  }

  addMonth(id: number, month: number): void {
    if (this.last[id] === month) return;
    this.last[id] = month;
    const first = this.first[id]!;
    if (first === NONE) {
      this.first[id] = month;
      return;
    }
    if (first === month) return;
    const more = this.more[id];
    if (more === undefined) {
      this.more[id] = [month];
    } else if (!more.includes(month)) {
      more.push(month);
    }
  }

  /** Distinct months of a customer, unsorted. */
  monthsOf(id: number): readonly number[] {
    const more = this.more[id];
    const first = this.first[id]!;
    return more === undefined ? [first] : [first, ...more];
  }
}

/** Totals of one month of one currency. */
export interface MonthTotals {
  readonly revenue: MoneySum;
  transactions: number;
}

/** Everything accumulated for one currency. */
export class CurrencyTotals {
  readonly revenue = new MoneySum();
  readonly refunds = new MoneySum();
  transactions = 0;
  minDay = Infinity;
  maxDay = -Infinity;
  readonly months = new Map<number, MonthTotals>();
  private lastMonth = NaN;
  private lastMonthTotals: MonthTotals | undefined;
  readonly customers: CustomerTotals | null;
  readonly products: KeyedTotals | null;
  readonly regions: KeyedTotals | null;

  constructor(
    readonly currency: string | null,
    withCustomers: boolean,
    withProducts: boolean,
    withRegions: boolean,
  ) {
    this.customers = withCustomers ? new CustomerTotals() : null;
    this.products = withProducts ? new KeyedTotals() : null;
    this.regions = withRegions ? new KeyedTotals() : null;
  }

  monthTotals(month: number): MonthTotals {
    if (month === this.lastMonth) return this.lastMonthTotals!;
    let t = this.months.get(month);
    if (t === undefined) {
      t = { revenue: new MoneySum(), transactions: 0 };
      this.months.set(month, t);
    }
    this.lastMonth = month;
    this.lastMonthTotals = t;
    return t;
  }
}
