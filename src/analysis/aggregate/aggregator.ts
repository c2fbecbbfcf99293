import type { ColumnMap } from '../read/columns.ts';
import { DateEvidence, dateProblem } from '../values/date-order.ts';
import type { DateReading } from '../values/date-order.ts';
import { monthOfDay, parseDate } from '../values/dates.ts';
import { keyOf, withoutControls } from '../values/keys.ts';
import { DATE_WINDOW_TEXT, FIRST_DAY, LAST_DAY, MAX_CURRENCIES } from './limits.ts';
import {
  BIG,
  FAST_LIMIT,
  MAX_AMOUNT_MICRO,
  MICRO,
  amountCurrencyToken,
  amountProblem,
  bigAmount,
  currencyOfToken,
  decimalEvidence,
  parseAmount,
} from '../values/money.ts';
import type { JobOptions } from '../options.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import { CurrencyTotals } from './totals.ts';

/** Rows buffered before the date reading and the decimal separator are decided. */
export const DECIDE_ROWS = 1000;
export const MAX_SAMPLES = 100;

export interface RejectedRow {
  line: number;
  reason: string;
}

/** Why rows were rejected, counted for the summary of a job most of whose rows were. */
export interface RejectionCounts {
  fields: number;
  date: number;
  dateOutsideWindow: number;
  amount: number;
  amountEmpty: number;
  currency: number;
  unclosedQuote: number;
}

export interface AggregatorSetup {
  header: readonly string[];
  columns: ColumnMap;
  options: JobOptions;
  delimiter: string;
  /** Where per-key tables spill past their in-memory threshold (none: all in memory). */
  spill?: SpillSetup;
}

/** A cell value in a reason: quoted, cut at 60 characters. */
export function show(value: string): string {
  const v = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(v);
}

/**
 * The one-pass aggregator: fed parsed records (arrays of strings) with the physical line
 * they start on, it keeps per-currency totals whose size depends on distinct customers,
 * products, regions and months only. Pure: no I/O, no timers.
 *
 * The first `DECIDE_ROWS` rows are buffered until the date reading (day/month order,
 * `YYYYMMDD`) and the decimal separator are decided from the head of the file (CONTRACT.md
 * §5), then every row is read the same way.
 */
export class RevenueAggregator {
  total = 0;
  valid = 0;
  rejected = 0;
  readonly samples: RejectedRow[] = [];
  readonly rejections: RejectionCounts = {
    fields: 0,
    date: 0,
    dateOutsideWindow: 0,
    amount: 0,
    amountEmpty: 0,
    currency: 0,
    unclosedQuote: 0,
  };
  readonly currencies = new Map<string | null, CurrencyTotals>();
  /** Earliest and latest valid day over all currencies, with the line of a row on each. */
  firstDay = Infinity;
  firstDayLine = 0;
  lastDay = -Infinity;
  lastDayLine = 0;

  private readonly width: number;
  private readonly dateIdx: number;
  private readonly amountIdx: number;
  private readonly quantityIdx: number;
  private readonly unitPriceIdx: number;
  private readonly customerIdx: number;
  private readonly productIdx: number;
  private readonly regionIdx: number;
  private readonly currencyIdx: number;
  private readonly fromQuantity: boolean;
  private readonly defaultCurrency: string | null;
  private readonly spill: SpillSetup | undefined;
  private readonly options: JobOptions;

  private reading: DateReading;
  private decimalComma: boolean;
  private buffer: { record: string[]; line: number }[] | null = [];
  private readonly dateEvidence = new DateEvidence();
  private readonly decideDecimal: boolean;
  private commaVotes = 0;
  private dotVotes = 0;

  private lastDateText = '';
  private lastDateDay = NaN;
  private cachedDay = NaN;
  private cachedMonth = 0;
  private readonly currencyTexts: string[] = [];
  private readonly currencyTextTotals: CurrencyTotals[] = [];
  private lastToken = '';
  private lastTokenCurrency: string | null | undefined = null;
  /** The exact value when an amount came back as `BIG`. */
  private bigValue = 0n;

  constructor(setup: AggregatorSetup) {
    const { header, columns, options, delimiter } = setup;
    this.width = header.length;
    const ix = columns.index;
    this.dateIdx = ix.date;
    this.amountIdx = ix.amount;
    this.quantityIdx = ix.quantity;
    this.unitPriceIdx = ix.unitPrice;
    this.customerIdx = ix.customer;
    this.productIdx = ix.product;
    this.regionIdx = ix.region;
    this.currencyIdx = ix.currency;
    this.fromQuantity = columns.amountFromQuantity;
    this.defaultCurrency = options.currency?.toUpperCase() ?? null;
    this.spill = setup.spill;
    this.options = options;
    this.reading = new DateEvidence().decide(options.dateFormat);
    // The contract asks for a decimal comma in `;` files written that way; tab and `|`
    // exports from the same (European) tools get the same treatment. A `,` file keeps `.`.
    this.decideDecimal = options.decimalSeparator === undefined && delimiter !== ',';
    this.decimalComma = options.decimalSeparator === ',';
  }

  /** How dates are read (decided once the head has been seen). */
  get dateReading(): DateReading {
    return this.reading;
  }

  get usesDecimalComma(): boolean {
    return this.decimalComma;
  }

  /** One data record (not the header). `line` is the physical line it starts on. */
  add(record: string[], line: number): void {
    this.total++;
    const buffer = this.buffer;
    if (buffer === null) {
      this.process(record, line);
      return;
    }
    buffer.push({ record, line });
    if (record.length === this.width) this.collectEvidence(record);
    if (buffer.length >= DECIDE_ROWS) this.flush();
  }

  /** Call once after the last record. */
  end(): void {
    if (this.buffer !== null) this.flush();
  }

  /** A record csv-parse could not finish (a quote never closed before the end of the file). */
  rejectUnclosedQuote(line: number): void {
    this.total++;
    this.rejections.unclosedQuote++;
    this.rejectAt(line, 'a quote (") opened in this row is never closed before the end of the file');
  }

  private collectEvidence(record: readonly string[]): void {
    this.dateEvidence.add(record[this.dateIdx]!);
    if (this.decideDecimal) {
      const e = decimalEvidence(record[this.fromQuantity ? this.unitPriceIdx : this.amountIdx]!);
      if (e === 1) this.commaVotes++;
      else if (e === 2) this.dotVotes++;
    }
  }

  private flush(): void {
    const buffer = this.buffer!;
    this.buffer = null;
    this.reading = this.dateEvidence.decide(this.options.dateFormat);
    if (this.decideDecimal) this.decimalComma = this.commaVotes > this.dotVotes;
    for (const { record, line } of buffer) this.process(record, line);
  }

  private rejectAt(line: number, reason: string | (() => string)): void {
    this.rejected++;
    if (this.samples.length < MAX_SAMPLES) {
      this.samples.push({ line, reason: typeof reason === 'string' ? reason : reason() });
    }
  }

  private process(record: string[], line: number): void {
    if (record.length !== this.width) {
      this.rejections.fields++;
      this.rejectAt(line, `expected ${this.width} fields as in the header, found ${record.length}`);
      return;
    }
    const day = this.dayOf(record, line);
    if (day !== day) return;
    const micro = this.amountOf(record, line);
    if (micro !== micro) return;
    const totals = this.totalsOf(record, line);
    if (totals === null) return;
    this.valid++;
    const month = this.countRow(totals, day, line, micro);
    this.countKeys(totals, record, month, micro);
  }

  /** The row's day, or NaN after rejecting the row. */
  private dayOf(record: readonly string[], line: number): number {
    // Exports are usually in date order, so the previous row's date text is the cache. A
    // Map from text to day was tried and was slower than parsing: every field is a fresh
    // string, and hashing it for the lookup (~80 ns) costs more than the char scan (~30 ns).
    const text = record[this.dateIdx]!;
    let day: number;
    if (text === this.lastDateText) {
      day = this.lastDateDay;
    } else {
      day = parseDate(text, this.reading.order, this.reading.eightDigits);
      this.lastDateText = text;
      this.lastDateDay = day;
    }
    if (day !== day) {
      this.rejections.date++;
      this.rejectAt(line, () => dateProblem(text, this.reading, show));
      return NaN;
    }
    if (day < FIRST_DAY || day > LAST_DAY) {
      this.rejections.dateOutsideWindow++;
      this.rejectAt(
        line,
        () =>
          `date ${show(text)} is outside ${DATE_WINDOW_TEXT}, the dates Tally reads (a placeholder or a typo?)`,
      );
      return NaN;
    }
    return day;
  }

  private rejectAmount(line: number, role: string, text: string): void {
    if (text.trim() === '') {
      this.rejections.amountEmpty++;
      this.rejectAt(line, `${role} is empty`);
      return;
    }
    this.rejections.amount++;
    this.rejectAt(line, () => `${role} ${show(text)} ${amountProblem(text, this.decimalComma)}`);
  }

  /** Micro-units of the row's amount (BIG with `bigValue` set), or NaN after rejecting it. */
  private amountOf(record: readonly string[], line: number): number {
    if (!this.fromQuantity) {
      const text = record[this.amountIdx]!;
      const micro = parseAmount(text, this.decimalComma);
      if (micro !== micro) this.rejectAmount(line, 'amount', text);
      else if (micro === BIG) this.bigValue = bigAmount;
      return micro;
    }
    const qText = record[this.quantityIdx]!;
    const q = parseAmount(qText, this.decimalComma);
    if (q !== q) {
      this.rejectAmount(line, 'quantity', qText);
      return NaN;
    }
    const qBig = q === BIG ? bigAmount : 0n;
    const pText = record[this.unitPriceIdx]!;
    const p = parseAmount(pText, this.decimalComma); // leaves the price's currency token
    if (p !== p) {
      this.rejectAmount(line, 'unit price', pText);
      return NaN;
    }
    return this.product(q, qBig, p, line);
  }

  /** q × p of two micro-unit amounts, rounded back to micro-units (10⁻¹² → 10⁻⁶). */
  private product(q: number, qBig: bigint, p: number, line: number): number {
    if (q !== BIG && p !== BIG) {
      const product = Math.abs(q) * Math.abs(p);
      if (product < Number.MAX_SAFE_INTEGER - MICRO) {
        const rounded = product + MICRO / 2;
        const micro = (rounded - (rounded % MICRO)) / MICRO;
        if (micro <= FAST_LIMIT) return q < 0 !== p < 0 && micro !== 0 ? -micro : micro;
      }
    }
    const qb = q === BIG ? qBig : BigInt(q);
    const pb = p === BIG ? bigAmount : BigInt(p);
    const prod = qb * pb;
    const neg = prod < 0n;
    const abs = neg ? -prod : prod;
    const microBig = (abs + BigInt(MICRO / 2)) / BigInt(MICRO);
    if (microBig >= MAX_AMOUNT_MICRO) {
      this.rejections.amount++;
      this.rejectAt(line, 'quantity × unit price is 10^15 or more, beyond the amounts Tally reads');
      return NaN;
    }
    this.bigValue = neg ? -microBig : microBig;
    return BIG;
  }

  /**
   * The totals of the row's currency: its currency column, else options.currency, else a
   * code or symbol in the amount text. Null after rejecting the row.
   */
  private totalsOf(record: readonly string[], line: number): CurrencyTotals | null {
    const token = amountCurrencyToken;
    let tokenCurrency: string | null = null;
    if (token !== '') {
      if (token !== this.lastToken) {
        this.lastToken = token;
        this.lastTokenCurrency = currencyOfToken(token);
      }
      if (this.lastTokenCurrency === undefined) {
        this.rejections.amount++;
        this.rejectAt(line, () => `amount ${show(this.amountTextOf(record))} is not a number`);
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

  private amountTextOf(record: readonly string[]): string {
    return this.fromQuantity ? record[this.unitPriceIdx]! : record[this.amountIdx]!;
  }

  private totalsFor(currency: string | null, line: number): CurrencyTotals | null {
    let totals = this.currencies.get(currency);
    if (totals === undefined) {
      if (this.currencies.size >= MAX_CURRENCIES) {
        this.rejections.currency++;
        this.rejectAt(
          line,
          () =>
            `currency ${show(withoutControls(currency ?? ''))} would be the ${MAX_CURRENCIES + 1}st in this file; Tally reads at most ${MAX_CURRENCIES}`,
        );
        return null;
      }
      totals = new CurrencyTotals(
        currency,
        this.customerIdx >= 0,
        this.productIdx >= 0,
        this.regionIdx >= 0,
        this.spill,
      );
      this.currencies.set(currency, totals);
    }
    return totals;
  }

  /** Adds a valid row to its currency's totals and month; returns the month. */
  private countRow(totals: CurrencyTotals, day: number, line: number, micro: number): number {
    if (day !== this.cachedDay) {
      this.cachedDay = day;
      this.cachedMonth = monthOfDay(day);
    }
    if (day < this.firstDay) {
      this.firstDay = day;
      this.firstDayLine = line;
    }
    if (day > this.lastDay) {
      this.lastDay = day;
      this.lastDayLine = line;
    }
    const month = this.cachedMonth;
    if (day < totals.minDay) totals.minDay = day;
    if (day > totals.maxDay) totals.maxDay = day;
    totals.transactions++;
    const monthTotals = totals.monthTotals(month);
    monthTotals.transactions++;
    if (micro !== BIG) {
      totals.revenue.add(micro);
      if (micro < 0) totals.refunds.add(-micro);
      monthTotals.revenue.add(micro);
    } else {
      const big = this.bigValue;
      totals.revenue.addBig(big);
      if (big < 0n) totals.refunds.addBig(-big);
      monthTotals.revenue.addBig(big);
    }
    return month;
  }

  /**
   * Customer, product and region of a valid row; a blank key is no key (CONTRACT.md §5).
   * The three blocks are written out on purpose: this runs for every valid row, each
   * table's field stays monomorphic, and only customers also record the month (cohorts).
   */
  private countKeys(totals: CurrencyTotals, record: readonly string[], month: number, micro: number): void {
    const big = micro === BIG ? this.bigValue : 0n;
    const customers = totals.customers;
    if (customers !== null) {
      const key = keyOf(record[this.customerIdx]!);
      if (key !== '') {
        const id = customers.idOf(key);
        if (micro !== BIG) customers.add(id, micro);
        else {
          customers.addBig(id, big);
          customers.countTransaction(id);
        }
        customers.addMonth(id, month);
      }
    }
    const products = totals.products;
    if (products !== null) {
      const key = keyOf(record[this.productIdx]!);
      if (key !== '') {
        const id = products.idOf(key);
        if (micro !== BIG) products.add(id, micro);
        else {
          products.addBig(id, big);
          products.countTransaction(id);
        }
      }
    }
    const regions = totals.regions;
    if (regions !== null) {
      const key = keyOf(record[this.regionIdx]!);
      if (key !== '') {
        const id = regions.idOf(key);
        if (micro !== BIG) regions.add(id, micro);
        else {
          regions.addBig(id, big);
          regions.countTransaction(id);
        }
      }
    }
  }
}
