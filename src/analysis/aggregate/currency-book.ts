import type { ColumnMap } from '../read/columns.ts';
import type { JobOptions } from '../options.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import { monthOfDay } from '../values/calendar.ts';
import { keyOf, withoutControls } from '../values/keys.ts';
import { BIG, currencyOfToken } from '../values/money.ts';
import type { AmountReader } from './amount-reader.ts';
import { MAX_CURRENCIES } from './limits.ts';
import { show } from './rejections.ts';
import type { Rejections } from './rejections.ts';
import { PendingCounts } from './pending-counts.ts';
import type { RowKeyFields } from './pending-counts.ts';
import { CurrencyTotals } from './totals.ts';
import type { KeyedTotals } from './totals.ts';

/**
 * v1.2: the currency a header's trailing parenthesised qualifier names
 * (`Estimated earnings (JPY)`, `Amount (EUR)`), or null (`Created (UTC)` is no currency).
 */
export function currencyQualifier(headerName: string | undefined): string | null {
  const m = /\(\s*([A-Za-z]{3})\s*\)\s*$/.exec(headerName ?? '');
  if (m === null) return null;
  const code = m[1]!.toUpperCase();
  return currencyOfToken(code) === code ? code : null;
}

/** The totals of every currency of a file, and the rows counted into them. */
export class CurrencyBook {
  private readonly byCurrency = new Map<string | null, CurrencyTotals>();
  /** Earliest and latest valid day over all currencies, with the line of a row on each. */
  private first = Infinity;
  private firstLine = 0;
  private last = -Infinity;
  private lastLine = 0;
  /** Valid rows not counted yet (see pending-counts.ts); every reader of the totals counts them first. */
  private readonly pending = new PendingCounts();
  private readonly currencyIdx: number;
  private readonly defaultCurrency: string | null;
  private readonly keyed: [boolean, boolean, boolean];
  private readonly currencyTexts: string[] = [];
  private readonly currencyTextTotals: CurrencyTotals[] = [];
  private lastToken = '';
  private lastTokenCurrency: string | null | undefined = null;
  private cachedDay = NaN;
  private cachedMonth = 0;

  constructor(
    header: readonly string[],
    columns: ColumnMap,
    options: JobOptions,
    private readonly rejections: Rejections,
    private readonly spill: SpillSetup | undefined,
  ) {
    const ix = columns.index;
    this.currencyIdx = ix.currency;
    const qualified = ix.amount >= 0 ? header[ix.amount] : ix.credit >= 0 ? header[ix.credit] : undefined;
    // The currency column, else options.currency, else the amount header's qualifier, else
    // a code or symbol written with the amount.
    this.defaultCurrency = options.currency?.toUpperCase() ?? currencyQualifier(qualified);
    this.keyed = [ix.customer >= 0, ix.product >= 0, ix.region >= 0];
  }

  get currencies(): ReadonlyMap<string | null, CurrencyTotals> {
    this.flush();
    return this.byCurrency;
  }
  get firstDay(): number {
    this.flush();
    return this.first;
  }
  get firstDayLine(): number {
    this.flush();
    return this.firstLine;
  }
  get lastDay(): number {
    this.flush();
    return this.last;
  }
  get lastDayLine(): number {
    this.flush();
    return this.lastLine;
  }

  /** The totals of the row's currency; null after rejecting the row. */
  totalsOf(record: readonly string[], line: number, amounts: AmountReader): CurrencyTotals | null {
    const token = amounts.token;
    let tokenCurrency: string | null = null;
    if (token !== '') {
      if (token !== this.lastToken) {
        this.lastToken = token;
        this.lastTokenCurrency = currencyOfToken(token);
      }
      if (this.lastTokenCurrency === undefined) {
        this.rejections.reject(
          'amount',
          line,
          () => `amount ${show(amounts.amountText(record))} is not a number`,
        );
        return null;
      }
      tokenCurrency = this.lastTokenCurrency;
    }
    const currencyText = this.currencyIdx >= 0 ? record[this.currencyIdx]! : '';
    if (tokenCurrency !== null) return this.totalsFor(this.currencyOf(currencyText, tokenCurrency), line);
    // A few distinct currency texts per file: a linear scan with === beats hashing.
    const texts = this.currencyTexts;
    let i = 0;
    while (i < texts.length && texts[i] !== currencyText) i++;
    if (i < texts.length) return this.currencyTextTotals[i]!;
    const totals = this.totalsFor(this.currencyOf(currencyText, null), line);
    if (totals !== null && texts.length < 16) {
      texts.push(currencyText);
      this.currencyTextTotals.push(totals);
    }
    return totals;
  }

  private currencyOf(columnText: string, tokenCurrency: string | null): string | null {
    const fromColumn = keyOf(columnText);
    if (fromColumn !== '') return currencyOfToken(fromColumn) ?? fromColumn.toUpperCase();
    return this.defaultCurrency ?? tokenCurrency;
  }

  private totalsFor(currency: string | null, line: number): CurrencyTotals | null {
    let totals = this.byCurrency.get(currency);
    if (totals === undefined) {
      // Tables are created, and join the key budget, after the rows before them are counted.
      this.flush();
      if (this.byCurrency.size >= MAX_CURRENCIES) {
        this.rejections.reject(
          'currency',
          line,
          () =>
            `currency ${show(withoutControls(currency ?? ''))} would be the ${MAX_CURRENCIES + 1}st in this file; Tally reads at most ${MAX_CURRENCIES}`,
        );
        return null;
      }
      const [c, p, r] = this.keyed;
      totals = new CurrencyTotals(currency, c, p, r, this.spill);
      this.byCurrency.set(currency, totals);
    }
    return totals;
  }

  /**
   * Counts a valid row: `micro` its amount, `refunded` its refunded part R (0 when none);
   * it adds amount − R to revenue and the keys, and R plus a negative amount to refunds.
   */
  count(
    totals: CurrencyTotals,
    day: number,
    line: number,
    micro: number,
    refunded: number,
    amounts: AmountReader,
    keys: RowKeyFields,
  ): void {
    if (micro !== BIG && refunded === 0) {
      const pending = this.pending;
      const row = pending.next();
      row.totals = totals;
      row.day = day;
      row.line = line;
      row.micro = micro;
      row.customer = keys.customer;
      row.customerHash = keys.customerHash;
      row.customerMemo = keys.customerMemo;
      row.product = keys.product;
      row.productHash = keys.productHash;
      row.productMemo = keys.productMemo;
      row.region = keys.region;
      row.regionHash = keys.regionHash;
      row.regionMemo = keys.regionMemo;
      pending.length++;
      if (pending.full) this.flush();
      return;
    }
    this.flush();
    const month = this.countDay(totals, day, line);
    const monthTotals = totals.monthTotals(month);
    totals.transactions++;
    monthTotals.transactions++;
    const amount = micro === BIG ? amounts.bigValue : BigInt(micro);
    const r = refunded === BIG ? amounts.bigRefunded : BigInt(refunded);
    const net = amount - r;
    totals.revenue.addBig(net);
    totals.refunds.addBig((amount < 0n ? -amount : 0n) + r);
    monthTotals.revenue.addBig(net);
    countKeys(totals, keys, month, BIG, net);
  }

  /** Counts the rows held back, in their order. */
  flush(): void {
    const pending = this.pending;
    const n = pending.length;
    if (n === 0) return;
    pending.touch();
    const rows = pending.rows;
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      const totals = row.totals!;
      const micro = row.micro;
      const month = this.countDay(totals, row.day, row.line);
      const monthTotals = totals.monthTotals(month);
      totals.transactions++;
      monthTotals.transactions++;
      totals.revenue.add(micro);
      if (micro < 0) totals.refunds.add(-micro);
      monthTotals.revenue.add(micro);
      countKeys(totals, row, month, micro, 0n);
    }
    pending.length = 0;
  }

  /** Records the row's day; returns its month. */
  private countDay(totals: CurrencyTotals, day: number, line: number): number {
    if (day !== this.cachedDay) {
      this.cachedDay = day;
      this.cachedMonth = monthOfDay(day);
    }
    if (day < this.first) {
      this.first = day;
      this.firstLine = line;
    }
    if (day > this.last) {
      this.last = day;
      this.lastLine = line;
    }
    if (day < totals.minDay) totals.minDay = day;
    if (day > totals.maxDay) totals.maxDay = day;
    return this.cachedMonth;
  }
}

/**
 * Customer, product and region of a valid row; a blank key is no key (docs/reference.md, "Values").
 * The three blocks are written out on purpose: this runs for every valid row, each
 * table's field stays monomorphic, and only customers also record the month (cohorts).
 */
function countKeys(
  totals: CurrencyTotals,
  keys: RowKeyFields,
  month: number,
  micro: number,
  big: bigint,
): void {
  const customers = totals.customers;
  if (customers !== null && keys.customer !== '') {
    const id = customers.idOfMemo(keys.customerMemo, keys.customer, keys.customerHash);
    addTo(customers, id, micro, big);
    customers.addMonth(id, month);
  }
  const products = totals.products;
  if (products !== null && keys.product !== '') {
    addTo(products, products.idOfMemo(keys.productMemo, keys.product, keys.productHash), micro, big);
  }
  const regions = totals.regions;
  if (regions !== null && keys.region !== '')
    addTo(regions, regions.idOfMemo(keys.regionMemo, keys.region, keys.regionHash), micro, big);
}

function addTo(table: KeyedTotals, id: number, micro: number, big: bigint): void {
  if (micro !== BIG) table.add(id, micro);
  else {
    table.addBig(id, big);
    table.countTransaction(id);
  }
}
