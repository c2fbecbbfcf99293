import type { ColumnMap } from '../read/columns.ts';
import {
  BIG,
  FAST_LIMIT,
  MAX_AMOUNT_MICRO,
  MICRO,
  amountCurrencyToken,
  amountProblem,
  bigAmount,
  parseAmount,
} from '../values/money.ts';
import { show } from './rejections.ts';
import type { Rejections } from './rejections.ts';

/**
 * The money of one row (docs/reference.md, "Rows that are not sales" and "Values"): its amount (the amount column, quantity ×
 * unit price, or v1.2's credit − debit) and its refunded part. A value comes back in
 * micro-units, or `BIG` with `bigValue` set, or NaN after the row was rejected.
 */
export class AmountReader {
  decimalComma = false;
  /** The exact value when an amount came back as `BIG`. */
  bigValue = 0n;
  /** The exact refunded part when `refundedOf` came back as `BIG`. */
  bigRefunded = 0n;
  /** The currency code or symbol written with the row's amount ('' when none). */
  token = '';
  private readonly amountIdx: number;
  private readonly quantityIdx: number;
  private readonly unitPriceIdx: number;
  private readonly creditIdx: number;
  private readonly debitIdx: number;
  private readonly refundedIdx: number;
  private readonly source: 'amount' | 'quantity' | 'creditDebit';

  constructor(
    columns: ColumnMap,
    private readonly rejections: Rejections,
  ) {
    const ix = columns.index;
    this.amountIdx = ix.amount;
    this.quantityIdx = ix.quantity;
    this.unitPriceIdx = ix.unitPrice;
    this.creditIdx = ix.credit;
    this.debitIdx = ix.debit;
    this.refundedIdx = ix.refunded;
    this.source = columns.amountFromQuantity
      ? 'quantity'
      : columns.amountFromCreditDebit
        ? 'creditDebit'
        : 'amount';
  }

  get hasRefunded(): boolean {
    return this.refundedIdx >= 0;
  }

  /** The cells whose decimal separator the head decides on. */
  amountCells(record: readonly string[]): string[] {
    if (this.source === 'amount') return [record[this.amountIdx]!];
    if (this.source === 'quantity') return [record[this.unitPriceIdx]!];
    return [record[this.creditIdx]!, record[this.debitIdx]!];
  }

  /** The amount text shown in a reason. */
  amountText(record: readonly string[]): string {
    return this.amountCells(record)[0]!;
  }

  amountOf(record: readonly string[], line: number): number {
    let micro: number;
    if (this.source === 'amount') {
      const text = record[this.amountIdx]!;
      micro = parseAmount(text, this.decimalComma);
      if (micro !== micro) this.rejectAmount(line, 'amount', text);
      else if (micro === BIG) this.bigValue = bigAmount;
      this.token = amountCurrencyToken;
    } else if (this.source === 'quantity') {
      micro = this.fromQuantity(record, line);
      this.token = amountCurrencyToken; // the price's
    } else {
      micro = this.fromCreditDebit(record, line);
    }
    return micro;
  }

  /**
   * The refunded part R of the row: 0 when there is no refunded column or the cell is blank
   * or not above zero; NaN after rejecting a cell that is not an amount.
   */
  refundedOf(record: readonly string[], line: number): number {
    const text = record[this.refundedIdx]!;
    if (text.trim() === '') return 0;
    const r = parseAmount(text, this.decimalComma);
    if (r !== r) {
      this.rejections.reject(
        'amount',
        line,
        () => `refunded amount ${show(text)} ${amountProblem(text, this.decimalComma)}`,
      );
      return NaN;
    }
    if (r === BIG) {
      if (bigAmount <= 0n) return 0;
      this.bigRefunded = bigAmount;
      return BIG;
    }
    return r > 0 ? r : 0;
  }

  private rejectAmount(line: number, role: string, text: string): void {
    if (text.trim() === '') {
      this.rejections.reject('amountEmpty', line, `${role} is empty`);
      return;
    }
    this.rejections.reject(
      'amount',
      line,
      () => `${role} ${show(text)} ${amountProblem(text, this.decimalComma)}`,
    );
  }

  private fromQuantity(record: readonly string[], line: number): number {
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
    const micro = (abs + BigInt(MICRO / 2)) / BigInt(MICRO);
    return this.exact(neg ? -micro : micro, line, 'quantity × unit price');
  }

  /**
   * v1.2: credit − debit, a blank cell being 0 (both blank: rejected). A debit written with
   * a minus sign is still money out: its absolute value is taken.
   */
  private fromCreditDebit(record: readonly string[], line: number): number {
    const cText = record[this.creditIdx]!;
    const dText = record[this.debitIdx]!;
    const cBlank = cText.trim() === '';
    const dBlank = dText.trim() === '';
    if (cBlank && dBlank) {
      this.rejections.reject('amountEmpty', line, 'credit and debit are both empty');
      return NaN;
    }
    this.token = '';
    const d = dBlank ? 0n : this.part(dText, line, 'debit');
    if (d === null) return NaN;
    const c = cBlank ? 0n : this.part(cText, line, 'credit');
    if (c === null) return NaN;
    return this.exact(c - (d < 0n ? -d : d), line, 'credit − debit');
  }

  /** One of credit and debit, exact; null after rejecting the row. Keeps the first token seen. */
  private part(text: string, line: number, role: string): bigint | null {
    const v = parseAmount(text, this.decimalComma);
    if (v !== v) {
      this.rejectAmount(line, role, text);
      return null;
    }
    if (this.token === '') this.token = amountCurrencyToken;
    return v === BIG ? bigAmount : BigInt(v);
  }

  /** A value as micro-units, or BIG with `bigValue`; NaN (rejected) at 10^15 or more. */
  exact(v: bigint, line: number, what: string): number {
    const abs = v < 0n ? -v : v;
    if (abs >= MAX_AMOUNT_MICRO) {
      this.rejections.reject('amount', line, `${what} is 10^15 or more, beyond the amounts Tally reads`);
      return NaN;
    }
    if (abs <= BigInt(FAST_LIMIT)) return Number(v);
    this.bigValue = v;
    return BIG;
  }
}
