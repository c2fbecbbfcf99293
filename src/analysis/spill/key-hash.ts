/** Partitions per spill run: 10M keys over 128 partitions merge ~80k keys at a time. */
export const PARTITIONS = 128;

/**
 * The partition of a key at spill `level`, from its 32-bit hash (`hashKey`): level 0 takes
 * the low 7 bits; a partition still too large when merged splits at the next level on
 * the hash re-mixed with the level, so its keys spread again instead of landing together.
 */
export function partitionOf(hash: number, level: number): number {
  if (level === 0) return hash & (PARTITIONS - 1);
  let h = hash ^ Math.imul(level, 0x9e3779b9);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & (PARTITIONS - 1);
}
