/**
 * Lines that are not records, and records that are the header again (CONTRACT §5.1 v1.2).
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
 * Cheap refusal first: the first non-space character of a data cell rarely matches the
 * header's (a date or an id against a letter), and that compare allocates nothing.
 */
function sameCell(cell: string, key: string): boolean {
  if (key.length === 0) return cell.trim() === '';
  let i = 0;
  while (i < cell.length && cell.charCodeAt(i) <= 32) i++;
  const c = cell.charCodeAt(i);
  const k = key.charCodeAt(0);
  if (c !== k && c < 128 && (c | 0x20) !== k) return false;
  return cell.trim().toLowerCase() === key;
}
