/**
 * Lines that are not records, and records that are the header again (docs/reference.md,
 * "Shape").
 */

/** Is every field empty or whitespace (`,,,,,` at the end of a spreadsheet save)? */
export function isBlankRecord(record: readonly string[]): boolean {
  for (const field of record) {
    // Most records have a non-space first character in their first field: one compare.
    if (field.length > 0 && (field.charCodeAt(0) > 32 || field.trim() !== '')) return false;
  }
  return true;
}

/** Spots a record equal to the header (case and surrounding spaces aside), as in concatenated exports. */
export class RepeatedHeader {
  private readonly keys: string[];

  constructor(header: readonly string[]) {
    this.keys = header.map((h) => h.trim().toLowerCase());
  }

  matches(record: readonly string[]): boolean {
    const keys = this.keys;
    if (record.length !== keys.length) return false;
    for (let i = 0; i < keys.length; i++) if (!sameCell(record[i]!, keys[i]!)) return false;
    return true;
  }
}

/**
 * Allocation-free for ASCII cells (this runs for every row): trimmed, ASCII letters folded,
 * compared unit by unit; a cell with other characters takes the exact (allocating) path.
 */
function sameCell(cell: string, key: string): boolean {
  let s = 0;
  let e = cell.length;
  while (s < e && cell.charCodeAt(s) <= 32) s++;
  while (e > s && cell.charCodeAt(e - 1) <= 32) e--;
  // Longer than the key: only a non-ASCII space at either end (which trim() removes) could
  // still make it match (no lower-casing shortens a text). Checking the two ends, not every
  // character, keeps the common case (a first cell longer than its header name) at two compares.
  if (e - s !== key.length) {
    return (
      e - s > key.length &&
      (cell.charCodeAt(s) >= 128 || cell.charCodeAt(e - 1) >= 128) &&
      slowSame(cell, key)
    );
  }
  for (let i = 0; i < key.length; i++) {
    let c = cell.charCodeAt(s + i);
    if (c >= 128) return slowSame(cell, key);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== key.charCodeAt(i)) return false;
  }
  return true;
}

function slowSame(cell: string, key: string): boolean {
  return cell.trim().toLowerCase() === key;
}
