import type { KeyedTotals } from './totals.ts';

export interface TopEntry {
  key: string;
  revenue: bigint;
  transactions: number;
}

/**
 * The `limit` best keys by revenue descending, then key ascending, offered one at a time
 * (n log k, and no list of every key: with a spilled table the keys never sit in memory
 * together). The float `approx` only skips keys clearly below the current worst; every
 * decision near the boundary is made on the exact BigInt totals.
 */
export class TopKeys {
  readonly entries: TopEntry[] = [];
  private readonly approx: number[] = [];

  constructor(readonly limit: number) {}

  offer(table: KeyedTotals, id: number): void {
    const entries = this.entries;
    const v = table.approx(id);
    const full = entries.length === this.limit;
    if (full) {
      const w = this.approx[entries.length - 1]!;
      // approx is within a few ulps of the exact value; the slack keeps ties and near-ties exact.
      if (v < w - Math.abs(w) * 2 ** -40 - 2) return;
    }
    const entry: TopEntry = {
      key: table.keyOf(id),
      revenue: table.total(id),
      transactions: table.transactions(id),
    };
    if (full && !better(entry, entries[entries.length - 1]!)) return;
    if (full) {
      entries.pop();
      this.approx.pop();
    }
    let at = entries.length;
    while (at > 0 && better(entry, entries[at - 1]!)) at--;
    entries.splice(at, 0, entry);
    this.approx.splice(at, 0, v);
  }
}

function better(a: TopEntry, b: TopEntry): boolean {
  return a.revenue > b.revenue || (a.revenue === b.revenue && a.key < b.key);
}
