/**
 * Most distinct cells a key column remembers. Products, regions, plans and the like stay far
 * below; a column with more (customers, order ids) stops remembering and reads every cell
 * as before, so the memo costs such a column one Map lookup per row for its first ~1,000
 * distinct cells only.
 */
export const MAX_MEMO_CELLS = 1024;
/** Longer cells are read as before, never remembered: the memo holds ≤ 1024 × 64 chars. */
const MAX_MEMO_CELL_LENGTH = 64;

/**
 * A key column's cell texts as written → a small dense index, with the key and hash read
 * from that text once. Every field csv-parse hands out is a fresh string, so reading a key
 * costs a trim, a hash loop and the key table's compare loop per row; a Map lookup of the
 * text (V8 hashes and compares it natively) measured ~0.1 µs against ~0.2 µs for those on
 * the 1M-row bench's product and region columns. The key tables then map the index to
 * their id with one array read (`KeyedTotals.idOfMemo`).
 */
export class CellMemo {
  /** key and hash of each index ('' for a cell that is no key). */
  readonly keys: string[] = [];
  readonly hashes: number[] = [];
  private byCell: Map<string, number> | null = new Map();

  /** The index of `cell`, or -1 when it is not remembered (the caller reads it, then `remember`s). */
  indexOf(cell: string): number {
    return this.byCell?.get(cell) ?? -1;
  }

  /** Remembers `cell` as read; its index, or -1 when the memo is full (it then turns off for good). */
  remember(cell: string, key: string, hash: number): number {
    const byCell = this.byCell;
    if (byCell === null || cell.length > MAX_MEMO_CELL_LENGTH) return -1;
    if (byCell.size >= MAX_MEMO_CELLS) {
      this.byCell = null;
      return -1;
    }
    const index = this.keys.length;
    byCell.set(cell, index);
    this.keys.push(key);
    this.hashes.push(hash);
    return index;
  }
}
