import type { ColumnMap } from '../read/columns.ts';
import type { JobOptions } from '../options.ts';
import type { Category, Exclusion } from '../result.ts';
import { Exclusions } from '../rows/exclusions.ts';
import { RepeatedHeader, isBlankRecord } from '../rows/record-kinds.ts';
import { EXCLUDED, REFUND, RowClassifier } from '../rows/row-classifier.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import { DateEvidence } from '../values/date-order.ts';
import type { DateReading } from '../values/date-order.ts';
import { DECIDE_ROWS, decideFormat } from '../values/format-decision.ts';
import type { FormatDecision } from '../values/format-decision.ts';
import { BIG } from '../values/money.ts';
import { ZoneCalendar } from '../values/zone-calendar.ts';
import { AmountReader } from './amount-reader.ts';
import { CurrencyBook } from './currency-book.ts';
import { DayReader } from './day-reader.ts';
import { KeyBudget } from './key-budget.ts';
import { RowKeys } from './row-keys.ts';
import { Rejections } from './rejections.ts';
import type { RejectedRow, RejectionCounts } from './rejections.ts';
import type { CurrencyTotals } from './totals.ts';

export { DECIDE_ROWS } from '../values/format-decision.ts';
export { MAX_SAMPLES, show } from './rejections.ts';
export type { RejectedRow, RejectionCounts } from './rejections.ts';

export interface AggregatorSetup {
  header: readonly string[];
  options: JobOptions;
  delimiter: string;
  /** Where per-key tables spill past their in-memory threshold (none: all in memory). */
  spill?: SpillSetup;
  /** A part of a file split for parallel analysis: the format its head decided, taken as given. */
  decision?: FormatDecision;
}

/** Everything decided from the head: how each row is classified and read. */
interface Readers {
  readonly columns: ColumnMap;
  readonly classifier: RowClassifier;
  readonly days: DayReader;
  readonly amounts: AmountReader;
  readonly keys: RowKeys;
  readonly book: CurrencyBook;
}

/**
 * The one-pass aggregator: fed parsed records (arrays of strings) with the physical line
 * they start on, it keeps per-currency totals whose size depends on distinct customers,
 * products, regions and months only. Pure: no I/O, no timers.
 *
 * A record goes: not a record at all (blank) → counted → buffered until the format is
 * decided (the first `DECIDE_ROWS`, see format-decision.ts) → field count → repeated header
 * → classified (rows/; reference "Rows that are not sales": excluded rows stop here) → date, amount, currency,
 * keys read (any failing rejects the row) → counted in its currency's totals.
 */
export class RevenueAggregator {
  total = 0;
  valid = 0;
  readonly rejects = new Rejections();
  readonly exclusions = new Exclusions();
  private readonly width: number;
  private readonly repeated: RepeatedHeader;
  private readonly setup: AggregatorSetup;
  private readonly spill: SpillSetup | undefined;
  private buffer: { record: string[]; line: number }[] | null = [];
  private readers: Readers | null = null;
  private reading: DateReading;
  private decided: FormatDecision | null = null;

  constructor(setup: AggregatorSetup) {
    this.setup = setup;
    this.width = setup.header.length;
    this.repeated = new RepeatedHeader(setup.header);
    this.reading = new DateEvidence().decide(setup.options.dateFormat);
    const s = setup.spill;
    this.spill = s === undefined ? undefined : { ...s, budget: s.budget ?? new KeyBudget(s.budgetBytes) };
    if (setup.decision !== undefined) {
      this.buffer = null;
      this.install(setup.decision);
    }
  }

  /** The format decision, once made (after the first DECIDE_ROWS records, or given). */
  get decision(): FormatDecision | null {
    return this.decided;
  }
  /** The header record this aggregator reads rows against. */
  get header(): readonly string[] {
    return this.setup.header;
  }
  /** The row classifier, once the format is decided (for a part's categories). */
  get classifier(): RowClassifier | null {
    return this.readers?.classifier ?? null;
  }

  get rejected(): number {
    return this.rejects.rejected;
  }
  get samples(): readonly RejectedRow[] {
    return this.rejects.samples;
  }
  get rejections(): RejectionCounts {
    return this.rejects.counts;
  }
  get excluded(): number {
    return this.exclusions.count;
  }
  /** How dates are read (decided once the head has been seen). */
  get dateReading(): DateReading {
    return this.reading;
  }
  get usesDecimalComma(): boolean {
    return this.readers?.amounts.decimalComma ?? this.setup.options.decimalSeparator === ',';
  }
  /** Role → header name (after the head was seen; v1.2 columns may depend on it). */
  get columnNames(): ColumnMap['names'] {
    return this.readers?.columns.names ?? {};
  }
  get currencies(): ReadonlyMap<string | null, CurrencyTotals> {
    return this.readers?.book.currencies ?? new Map();
  }
  get firstDay(): number {
    return this.readers?.book.firstDay ?? Infinity;
  }
  get firstDayLine(): number {
    return this.readers?.book.firstDayLine ?? 0;
  }
  get lastDay(): number {
    return this.readers?.book.lastDay ?? -Infinity;
  }
  get lastDayLine(): number {
    return this.readers?.book.lastDayLine ?? 0;
  }
  categories(): Category[] {
    return this.readers?.classifier.categories() ?? [];
  }
  exclusionList(): Exclusion[] {
    return this.exclusions.toResult();
  }

  /** One data record (not the header). `line` is the physical line it starts on. */
  add(record: string[], line: number): void {
    if (isBlankRecord(record)) return; // not a record (docs/reference.md, "Shape"): not counted
    this.total++;
    const buffer = this.buffer;
    if (buffer === null) {
      this.process(record, line);
      return;
    }
    buffer.push({ record, line });
    if (buffer.length >= DECIDE_ROWS) this.flush();
  }

  /** Call once after the last record. */
  end(): void {
    if (this.buffer !== null) this.flush();
    this.readers?.book.flush();
  }

  /** A record csv-parse could not finish (a quote never closed before the end of the file). */
  rejectUnclosedQuote(line: number): void {
    this.total++;
    this.rejects.reject(
      'unclosedQuote',
      line,
      'a quote (") opened in this row is never closed before the end of the file',
    );
  }

  /** Decides the format from the buffered head, then reads the buffered rows. */
  private flush(): void {
    const buffer = this.buffer!;
    this.buffer = null;
    const { header, options, delimiter } = this.setup;
    const head = buffer
      .map((b) => b.record)
      .filter((r) => r.length === this.width && !this.repeated.matches(r));
    this.install(decideFormat(header, head, options, delimiter));
    for (const { record, line } of buffer) this.process(record, line);
  }

  private install(decision: FormatDecision): void {
    const { header, options } = this.setup;
    this.decided = decision;
    this.reading = decision.reading;
    const columns = decision.columns;
    const amounts = new AmountReader(columns, this.rejects);
    amounts.decimalComma = decision.decimalComma;
    const zone = options.timeZone === undefined ? null : new ZoneCalendar(options.timeZone);
    this.readers = {
      columns,
      classifier: new RowClassifier(header, columns, options),
      days: new DayReader(columns.index.date, decision.reading, zone, this.rejects),
      amounts,
      keys: new RowKeys(columns, this.rejects),
      book: new CurrencyBook(header, columns, options, this.rejects, this.spill),
    };
  }

  private process(record: string[], line: number): void {
    if (record.length !== this.width) {
      this.rejects.reject(
        'fields',
        line,
        `expected ${this.width} fields as in the header, found ${record.length}`,
      );
      return;
    }
    if (this.repeated.matches(record)) {
      this.exclusions.add('repeated header', line);
      return;
    }
    const r = this.readers!;
    const kind = r.classifier.idle ? 0 : r.classifier.classify(record);
    if (kind === EXCLUDED) {
      this.exclusions.add(r.classifier.reason, line);
      return;
    }
    const day = r.days.dayOf(record, line);
    if (day !== day) return;
    const amounts = r.amounts;
    let micro = amounts.amountOf(record, line);
    if (micro !== micro) return;
    if (kind === REFUND) micro = negative(micro, amounts);
    const refunded = amounts.hasRefunded ? amounts.refundedOf(record, line) : 0;
    if (refunded !== refunded) return;
    if (!r.keys.read(record, line)) return;
    const totals = r.book.totalsOf(record, line, amounts);
    if (totals === null) return;
    this.valid++;
    r.book.count(totals, day, line, micro, refunded, amounts, r.keys);
  }
}

/** −|amount| (a refund-type row is a refund whatever its sign). */
function negative(micro: number, amounts: AmountReader): number {
  if (micro !== BIG) return micro > 0 ? -micro : micro;
  if (amounts.bigValue > 0n) amounts.bigValue = -amounts.bigValue;
  return BIG;
}
