/**
 * Bytes of keys all per-key tables of one analysis may hold in memory together (every
 * currency, customers, products and regions). Counting keys alone bounded nothing when keys
 * are long: 3 tables × 20 currencies × the key threshold × up to 1 MiB per key. Past the
 * budget, the table holding most key bytes spills (and gives back its arrays).
 */
export const KEY_BYTES_BUDGET = 64 * 1024 * 1024;

/**
 * Per key besides its UTF-16 units: hash 4, start 4, two index slots of 8 (hash, id:
 * key-index.ts), the record's sums 16–48, a month-list slot 8, rounded up.
 */
export const KEY_OVERHEAD_BYTES = 80;

/**
 * Longest key (customer, product, region) in UTF-8 bytes. A longer key rejects its row with
 * a reason: cutting it would merge distinct keys, a wrong figure. Real keys (emails ≤ 254,
 * product titles with variants ~300) stay far below; the bound makes the budget above
 * meaningful when a file is made of long distinct keys.
 */
export const MAX_KEY_BYTES = 1024;

/** A table the budget can spill. */
export interface BudgetedTable {
  readonly heldBytes: number;
  /** Writes every key in memory out as one run and gives back the arrays. */
  spillForBudget(): void;
}

export class KeyBudget {
  held = 0;
  private readonly tables: BudgetedTable[] = [];

  constructor(readonly limitBytes: number = KEY_BYTES_BUDGET) {}

  register(table: BudgetedTable): void {
    this.tables.push(table);
  }

  /** Spills the tables holding most bytes until `cost` more fits (or nothing is left to spill). */
  makeRoom(cost: number): void {
    while (this.held + cost > this.limitBytes) {
      let largest: BudgetedTable | null = null;
      for (const t of this.tables) if (t.heldBytes > (largest?.heldBytes ?? 0)) largest = t;
      if (largest === null) return;
      largest.spillForBudget();
    }
  }
}

/** Is this key longer than MAX_KEY_BYTES in UTF-8? One compare for ordinary keys. */
export function keyTooLong(key: string): boolean {
  return key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES;
}
