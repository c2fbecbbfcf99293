import { MoneySum } from '../values/money-sum.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import { CustomerTotals } from './customer-totals.ts';
import { KeyedTotals } from './keyed-totals.ts';

export { CustomerTotals } from './customer-totals.ts';
export { KeyedTotals } from './keyed-totals.ts';
export type { Pause } from './keyed-totals.ts';

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
    spill?: SpillSetup,
  ) {
    this.customers = withCustomers ? new CustomerTotals(spill) : null;
    this.products = withProducts ? new KeyedTotals(2, spill) : null;
    this.regions = withRegions ? new KeyedTotals(2, spill) : null;
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
