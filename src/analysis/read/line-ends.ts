const CR = 13;
const CRCRLF = Buffer.from('\r\r\n');

/**
 * `CR CR LF` → `CR LF`, across chunk boundaries (docs/reference.md, "Shape"). Excel's "Unicode
 * text" (UTF-16, tab) save ends lines so; csv-parse, seeing a CR first, takes CR as the
 * record delimiter, and every following record then starts with the LF: a phantom field
 * and a rejected row per line. The pair is one line end as its writer meant it (and one
 * line in the numbering). Cost when absent: one `indexOf` per chunk.
 */
export class CrCrLf {
  private carry: Buffer | null = null;

  filter(bytes: Buffer | undefined, end: boolean): Buffer | undefined {
    let buf = bytes;
    if (this.carry !== null) {
      buf = buf === undefined ? this.carry : Buffer.concat([this.carry, buf]);
      this.carry = null;
    }
    if (buf === undefined) return undefined;
    let keep = buf.length;
    if (!end) {
      // Up to two trailing CRs may be the start of a CR CR LF the next chunk finishes.
      while (keep > 0 && buf.length - keep < 2 && buf[keep - 1] === CR) keep--;
      if (keep < buf.length) {
        this.carry = Buffer.from(buf.subarray(keep));
        buf = buf.subarray(0, keep);
      }
    }
    return buf.indexOf(CRCRLF) < 0 ? buf : collapse(buf);
  }
}

function collapse(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafe(buf.length);
  let n = 0;
  let from = 0;
  for (let at = buf.indexOf(CRCRLF); at >= 0; at = buf.indexOf(CRCRLF, from)) {
    n += buf.copy(out, n, from, at);
    out[n++] = CR;
    out[n++] = 10;
    from = at + 3;
  }
  n += buf.copy(out, n, from);
  return out.subarray(0, n);
}
