import type { RecordReader, RecordWriter } from '../spill/record-codec.ts';
import type { SpillSetup } from '../spill/spill-store.ts';
import { KeyedTotals } from './keyed-totals.ts';

const NONE = -1e9;
/** Months before a customer's first-seen month that its bit window still covers. */
const WINDOW_BEFORE = 8;

/**
 * Customer totals plus the months each customer bought in, for cohorts and monthly
 * customer counts. Per id, next to the sums: first month seen, last month seen (most rows
 * repeat it and stop there) and a 32-bit set of months from first−8 to first+23; months
 * outside that window go to a small array. Keeping it all in one record mattered: a
 * separate array of month lists cost ~0.3 µs per row in cache misses on the 1M-row bench.
 */
export class CustomerTotals extends KeyedTotals {
  // Dense: one slot pushed per id (writing past the end of an empty array would turn it
  // into a dictionary).
  readonly more: (number[] | undefined)[] = [];

  constructor(spillSetup?: SpillSetup, level = 0) {
    super(6, spillSetup, level);
  }

  protected override child(): this {
    return new CustomerTotals(this.spillSetup, this.level + 1) as this;
  }

  protected override writeRecord(w: RecordWriter, id: number): void {
    super.writeRecord(w, id);
    const base = id * 6;
    const first = this.data[base + 2]! - WINDOW_BEFORE;
    let bits = this.data[base + 4]! | 0;
    const more = this.more[id];
    let n = more?.length ?? 0;
    for (let b = bits; b !== 0; b &= b - 1) n++;
    w.u16(n);
    for (let bit = 0; bits !== 0; bit++, bits >>>= 1) if ((bits & 1) !== 0) w.i32(first + bit);
    if (more !== undefined) for (const m of more) w.i32(m);
  }

  protected override readRecord(r: RecordReader): number {
    const id = super.readRecord(r);
    const n = r.u16();
    for (let i = 0; i < n; i++) this.addMonth(id, r.i32());
    return id;
  }

  protected override clear(): void {
    super.clear();
    this.more.length = 0;
  }

  protected override created(base: number): void {
    this.data[base + 2] = NONE;
    this.data[base + 3] = NONE;
    this.data[base + 4] = 0;
    this.more.push(undefined);
  }

  addMonth(id: number, month: number): void {
    const data = this.data;
    const base = id * 6;
    if (data[base + 3] === month) return;
    data[base + 3] = month;
    let first = data[base + 2]!;
    if (first === NONE) {
      data[base + 2] = first = month;
    }
    const bit = month - first + WINDOW_BEFORE;
    if (bit >= 0 && bit < 32) {
      data[base + 4] = data[base + 4]! | (1 << bit);
      return;
    }
    const more = this.more[id];
    if (more === undefined) {
      this.more[id] = [month];
    } else if (!more.includes(month)) {
      more.push(month);
    }
  }

  /** Distinct months of a customer, unsorted. */
  monthsOf(id: number): number[] {
    const base = id * 6;
    const first = this.data[base + 2]!;
    const bits = this.data[base + 4]! | 0;
    const months: number[] = [];
    for (let bit = 0; bit < 32; bit++) {
      if ((bits & (1 << bit)) !== 0) months.push(first - WINDOW_BEFORE + bit);
    }
    const more = this.more[id];
    if (more !== undefined) months.push(...more);
    return months;
  }
}
