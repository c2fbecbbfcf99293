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
 * Up to this many distinct cells are looked up by a scan with `===` (V8 compares lengths
 * first, then the characters natively), not a Map: a Map lookup hashes the fresh string
 * each time (~0.1 µs on the bench's product and region columns), while 5 regions cost a
 * few compares, most of them turned away by the length.
 */
const FEW_CELLS = 8;

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
  /** The cells while there are at most FEW_CELLS (index = position), then null. */
  private few: string[] | null = [];
  private byCell: Map<string, number> | null = null;
  private off = false;

  /** The index of `cell`, or -1 when it is not remembered (the caller reads it, then `remember`s). */
  indexOf(cell: string): number {
    const few = this.few;
    if (few === null) return this.byCell?.get(cell) ?? -1;
    for (let i = 0; i < few.length; i++) if (few[i] === cell) return i;
    return -1;
  }

  /** Remembers `cell` as read; its index, or -1 when the memo is full (it then turns off for good). */
  remember(cell: string, key: string, hash: number): number {
    if (this.off || cell.length > MAX_MEMO_CELL_LENGTH) return -1;
    const index = this.keys.length;
    if (index >= MAX_MEMO_CELLS) {
      this.off = true;
      this.few = null;
      this.byCell = null;
      return -1;
    }
    const few = this.few;
    if (few !== null && index < FEW_CELLS) {
      few.push(cell);
    } else {
      this.byCell ??= new Map((few ?? []).map((c, i) => [c, i]));
      this.byCell.set(cell, index);
      this.few = null;
    }
    this.keys.push(key);
    this.hashes.push(hash);
    return index;
  }
}
