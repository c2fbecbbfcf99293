/** Rejected rows: how many, why (counted for the advice), and the first 100 with their lines. */
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
  keyTooLong: number;
}

export type RejectionKind = keyof RejectionCounts;

/** Every rejection kind at zero: a fresh table (an analysis's, or a part's before merging). */
export function noRejections(): RejectionCounts {
  return {
    fields: 0,
    date: 0,
    dateOutsideWindow: 0,
    amount: 0,
    amountEmpty: 0,
    currency: 0,
    unclosedQuote: 0,
    keyTooLong: 0,
  };
}

export class Rejections {
  rejected = 0;
  readonly samples: RejectedRow[] = [];
  readonly counts: RejectionCounts = noRejections();

  /** Rejects the row at `line`; a reason function is called only while samples are kept. */
  reject(kind: RejectionKind, line: number, reason: string | (() => string)): void {
    this.counts[kind]++;
    this.rejected++;
    if (this.samples.length < MAX_SAMPLES) {
      this.samples.push({ line, reason: typeof reason === 'string' ? reason : reason() });
    }
  }
}

/** A cell value in a reason: quoted, cut at 60 characters. */
export function show(value: string): string {
  const v = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(v);
}
