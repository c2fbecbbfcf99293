const LF = 10;
const CR = 13;
const QUOTE = 34;
const BOM = [0xef, 0xbb, 0xbf];

/** Where a part of a split file starts: a record's first byte, and the physical lines before it. */
export interface Cut {
  readonly offset: number;
  readonly linesBefore: number;
}

export type RecordDelimiter = '\n' | '\r\n';

/**
 * Finds record boundaries in a CSV's bytes without parsing it: one sequential pass that
 * follows only what moves csv-parse in and out of a quoted field under Tally's options
 * (`relax_quotes`): a quote opens a field only as its first byte; inside, `""` is a quote
 * and any other quote closes it. A newline outside a quoted field ends a record. For each
 * target offset the first record start at or after it becomes a cut, with the count of
 * physical lines before it (each LF; eligible files have no other line break, see below).
 *
 * Only files whose line numbering is that simple are split (`refused` says why not): line
 * ends LF or CRLF as the first line break of the file says, every CR followed by LF, and
 * in an LF file no CR at all (csv-parse counts a CR outside a quote as a line of its own).
 * The scan is a guess that the parts confirm: a part that csv-parse ends inside a quote
 * means the guess was wrong, and the job is analysed in one piece.
 */
export class RecordBoundaryScan {
  readonly cuts: Cut[] = [];
  /** Why this file cannot be split (null: it can). */
  refused: string | null = null;
  recordDelimiter: RecordDelimiter | null = null;
  private offset = 0;
  private lines = 0;
  private quoted = false;
  /** A quote ended the last chunk inside a quoted field: the next byte says escape or close. */
  private quotePending = false;
  /** Last two bytes seen (for "is this quote a field's first byte", across chunks). */
  private prev = -1;
  private prev2 = -1;
  private crPending = false;
  /** The file's first line break so far is a CR ending the last chunk. */
  private discoveryCr = false;
  private target = 0;
  private bodyStart = 0;

  private readonly targets: number[];

  /**
   * @param delimiter the field delimiter (one ASCII byte)
   * @param targets ascending byte offsets (> 0) to cut near
   */
  constructor(
    private readonly delimiter: number,
    targets: readonly number[],
  ) {
    this.targets = [...targets];
  }

  /**
   * Moves the target of the next cut not yet found (a balance decided as the scan goes:
   * plan-split.ts). It must stay before the targets after it; behind the scan, the cut is
   * the next record start.
   */
  moveNextTarget(offset: number): void {
    if (this.target >= this.targets.length) return;
    const after = this.targets[this.target + 1];
    this.targets[this.target] = after === undefined ? offset : Math.min(offset, after);
  }

  get lineCount(): number {
    return this.lines;
  }

  /** Every target has its cut (or lies behind one): no more cuts will come. */
  get cutsDone(): boolean {
    return this.target >= this.targets.length;
  }

  push(chunk: Buffer): void {
    if (this.refused !== null) return;
    if (this.recordDelimiter === null) this.discoverDelimiter(chunk);
    if (!this.discoveryCr) this.checkCarriageReturns(chunk);
    let pos = 0;
    const len = chunk.length;
    if (this.offset === 0 && len >= 3 && BOM.every((b, i) => chunk[i] === b)) {
      pos = 3; // csv-parse strips the BOM: the first field starts after it
      this.bodyStart = 3;
    }
    if (this.quotePending && len > 0) {
      this.quotePending = false;
      if (chunk[0] === QUOTE) pos = Math.max(pos, 1);
      else this.quoted = false;
    }
    while (pos < len && this.refused === null)
      pos = this.quoted ? this.inQuote(chunk, pos) : this.outside(chunk, pos);
    if (len > 0) {
      this.prev2 = len > 1 ? chunk[len - 2]! : this.prev;
      this.prev = chunk[len - 1]!;
    }
    this.offset += len;
  }

  /** Inside a quoted field from `pos`: returns where the scan goes on. */
  private inQuote(chunk: Buffer, pos: number): number {
    const q = chunk.indexOf(QUOTE, pos);
    const end = q < 0 ? chunk.length : q;
    this.countLines(chunk, pos, end, false);
    if (q < 0) return chunk.length;
    if (q + 1 >= chunk.length) {
      this.quotePending = true;
      return chunk.length;
    }
    if (chunk[q + 1] === QUOTE) return q + 2;
    this.quoted = false;
    return q + 1;
  }

  /** Outside a quoted field from `pos`: up to the next quote that opens one. */
  private outside(chunk: Buffer, pos: number): number {
    let from = pos;
    for (;;) {
      const q = chunk.indexOf(QUOTE, from);
      if (q < 0) {
        this.countLines(chunk, pos, chunk.length, true);
        return chunk.length;
      }
      if (this.fieldStartsAt(chunk, q)) {
        this.countLines(chunk, pos, q, true);
        this.quoted = true;
        return q + 1;
      }
      from = q + 1;
    }
  }

  /** Is the byte at `at` (outside a quote) the first of a field? */
  private fieldStartsAt(chunk: Buffer, at: number): boolean {
    if (this.offset + at === this.bodyStart) return true;
    const p1 = at >= 1 ? chunk[at - 1]! : this.prev;
    if (p1 === this.delimiter) return true;
    if (p1 !== LF) return false;
    if (this.recordDelimiter === '\n') return true;
    const p2 = at >= 2 ? chunk[at - 2]! : at === 1 ? this.prev : this.prev2;
    return p2 === CR; // CRLF ends a record; a lone LF is text in a CRLF file
  }

  /** Counts the LFs in [from, to); outside a quote, a record ending there may be a cut. */
  private countLines(chunk: Buffer, from: number, to: number, outside: boolean): void {
    for (let at = chunk.indexOf(LF, from); at >= 0 && at < to; at = chunk.indexOf(LF, at + 1)) {
      this.lines++;
      if (!outside || this.target >= this.targets.length) continue;
      if (this.offset + at + 1 < this.targets[this.target]!) continue;
      if (this.recordDelimiter === '\r\n') {
        const before = at >= 1 ? chunk[at - 1] : this.prev;
        if (before !== CR) continue; // a lone LF is text inside a CRLF file's field
      }
      this.cuts.push({ offset: this.offset + at + 1, linesBefore: this.lines });
      while (this.target < this.targets.length && this.targets[this.target]! <= this.offset + at + 1) {
        this.target++;
      }
    }
  }

  /** The first line break decides, as csv-parse's discovery does (a CR ending a chunk waits for the next). */
  private discoverDelimiter(chunk: Buffer): void {
    if (this.discoveryCr) {
      this.discoveryCr = false;
      if (chunk[0] === LF) this.recordDelimiter = '\r\n';
      else this.refused = 'its lines end in CR alone';
      return;
    }
    const lf = chunk.indexOf(LF);
    const cr = chunk.indexOf(CR);
    if (cr >= 0 && (lf < 0 || cr < lf)) {
      if (cr + 1 === chunk.length) this.discoveryCr = true;
      else if (chunk[cr + 1] === LF) this.recordDelimiter = '\r\n';
      else this.refused = 'its lines end in CR alone';
    } else if (lf >= 0) this.recordDelimiter = '\n';
  }

  private checkCarriageReturns(chunk: Buffer): void {
    if (this.refused !== null) return;
    if (this.crPending && chunk.length > 0 && chunk[0] !== LF) this.refused = 'a CR not followed by LF';
    this.crPending = false;
    if (this.recordDelimiter !== '\r\n') {
      if (chunk.indexOf(CR) >= 0) this.refused = 'CR bytes in a file whose lines end in LF';
      return;
    }
    for (let at = chunk.indexOf(CR); at >= 0; at = chunk.indexOf(CR, at + 1)) {
      if (at + 1 === chunk.length) this.crPending = true;
      else if (chunk[at + 1] !== LF) {
        this.refused = 'a CR not followed by LF';
        return;
      }
    }
  }
}
