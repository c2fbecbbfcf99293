/** Partitions per spill run: 10M keys over 128 partitions merge ~80k keys at a time. */
export const PARTITIONS = 128;

/**
 * FNV-1a over UTF-16 code units with a per-level seed, so a partition that is still too
 * large when merged splits again on independent bits at the next level.
 */
export function partitionOf(key: string, level: number): number {
  let h = (0x811c9dc5 ^ Math.imul(level + 1, 0x9e3779b9)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche (murmur3 fmix32): FNV's low bits alone split similar keys poorly.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % PARTITIONS;
}
