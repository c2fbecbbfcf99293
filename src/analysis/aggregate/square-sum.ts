import type { KeyedTotals } from './totals.ts';

const L18 = 2 ** 18;
const L36 = 2 ** 36;
/** Each limb product added below is < 2^38, so 2^14 of them stay exact under 2^53. */
const FLUSH_EVERY = 2 ** 14;

/**
 * The exact sum of squared per-key totals (micro-units²), for the HHI. A BigInt square per
 * key would cost ~0.3 µs × 10M customers; instead a total |t| ≤ 2^53 is cut into three
 * 18-bit limbs a·2^36 + b·2^18 + c, the five partial sums of t² are kept in plain numbers
 * (exact: each addend < 2^38) and folded into a BigInt every 2^14 keys.
 */
export class SquareSum {
  private s0 = 0;
  private s18 = 0;
  private s36 = 0;
  private s54 = 0;
  private s72 = 0;
  private pending = 0;
  private big = 0n;

  add(table: KeyedTotals, id: number): void {
    const small = table.smallTotal(id);
    const x = Math.abs(small);
    if (!(x <= Number.MAX_SAFE_INTEGER)) {
      const t = table.total(id);
      this.big += t * t;
      return;
    }
    const a = Math.floor(x / L36);
    const r = x - a * L36;
    const b = Math.floor(r / L18);
    const c = r - b * L18;
    this.s72 += a * a;
    this.s54 += 2 * a * b;
    this.s36 += b * b + 2 * a * c;
    this.s18 += 2 * b * c;
    this.s0 += c * c;
    if (++this.pending === FLUSH_EVERY) this.fold();
  }

  private fold(): void {
    this.big +=
      (BigInt(this.s72) << 72n) +
      (BigInt(this.s54) << 54n) +
      (BigInt(this.s36) << 36n) +
      (BigInt(this.s18) << 18n) +
      BigInt(this.s0);
    this.s0 = this.s18 = this.s36 = this.s54 = this.s72 = 0;
    this.pending = 0;
  }

  value(): bigint {
    this.fold();
    return this.big;
  }
}
