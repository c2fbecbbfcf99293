/**
 * Binary encoding of spilled per-key records (little-endian), pure and allocation-light:
 *   u32 key length in UTF-16 code units, the key's code units (UTF-16LE), f64 number part of the sum (|v| ≤ 2^53),
 *   f64 transactions, u16 length of the BigInt part's decimal text (0: none) + its text,
 *   then whatever the table adds (customers: u16 month count, i32 months).
 */
export class RecordWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  reset(): void {
    this.length = 0;
  }

  /** The bytes written since `reset` (a view: valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** A key as code units `[start, end)` of `units` (a byte view of a Uint16Array), copied as they are. */
  units(units: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(4 + n * 2);
    this.buf.writeUInt32LE(n, this.length);
    units.copy(this.buf, this.length + 4, start * 2, end * 2);
    this.length += 4 + n * 2;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }

  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }

  big(v: bigint | undefined): void {
    if (v === undefined || v === 0n) {
      this.u16(0);
      return;
    }
    const text = v.toString();
    this.u16(text.length);
    this.ensure(text.length);
    this.length += this.buf.write(text, this.length, 'latin1');
  }
}

export class RecordReader {
  at = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.at >= this.buf.length;
  }

  key(): string {
    const n = this.buf.readUInt32LE(this.at) * 2;
    const start = this.at + 4;
    this.at = start + n;
    return this.buf.toString('utf16le', start, start + n);
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  u16(): number {
    const v = this.buf.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }

  i32(): number {
    const v = this.buf.readInt32LE(this.at);
    this.at += 4;
    return v;
  }

  big(): bigint {
    const n = this.u16();
    if (n === 0) return 0n;
    const text = this.buf.toString('latin1', this.at, this.at + n);
    this.at += n;
    return BigInt(text);
  }
}
