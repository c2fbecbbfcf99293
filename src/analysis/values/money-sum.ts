import { FAST_LIMIT } from './money.ts';

/**
 * An exact running sum in micro-units: `lo` is a number that stays below 2^53 (each addend
 * ≤ 2^52, spilled into `hi` once |lo| passes 2^52), `hi` a BigInt touched only on a spill.
 */
export class MoneySum {
  lo = 0;
  hi = 0n;

  add(micro: number): void {
    const lo = this.lo + micro;
    if (lo > FAST_LIMIT || lo < -FAST_LIMIT) {
      this.hi += BigInt(lo);
      this.lo = 0;
    } else {
      this.lo = lo;
    }
  }

  addBig(micro: bigint): void {
    this.hi += micro;
  }

  value(): bigint {
    return this.hi + BigInt(this.lo);
  }
}

/** Rounds `num / den` half away from zero to an integer (den > 0). */
export function divRound(num: bigint, den: bigint): bigint {
  const neg = num < 0n;
  const a = neg ? -num : num;
  const q = (a * 2n + den) / (den * 2n);
  return neg ? -q : q;
}

/** Micro-units → money number rounded half away from zero to 2 decimals. */
export function microToMoney(micro: bigint): number {
  const cents = divRound(micro, 10_000n);
  return Number(cents) / 100;
}

/** `num / den` as a number rounded half away from zero to `decimals` places (den ≠ 0). */
export function ratio(num: bigint, den: bigint, decimals: number): number {
  if (den === 0n) return 0;
  const scale = 10n ** BigInt(decimals);
  const n = den < 0n ? -num : num;
  const d = den < 0n ? -den : den;
  return Number(divRound(n * scale, d)) / Number(scale);
}
