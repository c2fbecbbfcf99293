import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Combine } from '../../src/lib/crc32-combine.ts';
import { rng } from '../support/rng.ts';

// crc32Combine against zlib's own CRC-32 of the joined bytes: how a split file's parts'
// CRC-32s are to make the whole file's, as FileDigest took it at upload.

const KiB = 1024;
const MiB = 1024 * KiB;

/** zlib.crc32 of `times` copies of `block` then `tail`, continuing `initial`: a big file without its memory. */
function streamedCrc(block: Buffer, times: number, tail: Buffer, initial = 0): number {
  let crc = initial;
  for (let i = 0; i < times; i++) crc = crc32(block, crc);
  return crc32(tail, crc);
}

describe('crc32Combine', () => {
  it('gives zlib’s CRC-32 of A then B for random splits, empty and 1-byte pieces, pieces over 64 KiB', () => {
    const random = rng(0x5eed);
    const data = randomBytes(300 * KiB);
    const cases: [number, number][] = [
      [0, 0],
      [0, 1],
      [1, 0],
      [0, 200 * KiB], // empty A
      [200 * KiB, 0], // empty B
      [1, 1],
      [1, 100 * KiB],
      [100 * KiB, 1],
      [65 * KiB, 70 * KiB],
      [64 * KiB, 64 * KiB],
      [64 * KiB + 1, 200 * KiB],
    ];
    for (let i = 0; i < 400; i++) {
      // Mostly small, now and then over 64 KiB on either side.
      const size = () => Math.floor(random() * (random() < 0.2 ? 150 * KiB : 300));
      cases.push([size(), size()]);
    }
    for (const [lengthA, lengthB] of cases) {
      const start = Math.floor(random() * (data.length - lengthA - lengthB));
      const a = data.subarray(start, start + lengthA);
      const b = data.subarray(start + lengthA, start + lengthA + lengthB);
      const combined = crc32Combine(crc32(a), crc32(b), b.length);
      expect({ lengthA, lengthB, crc: combined }).toEqual({
        lengthA,
        lengthB,
        crc: crc32(Buffer.concat([a, b])),
      });
    }
  });

  it('folds three pieces in sequence, and a buffer byte by byte, to the whole one’s CRC-32', () => {
    const random = rng(42);
    const data = randomBytes(256 * KiB);
    for (let i = 0; i < 100; i++) {
      const cut1 = Math.floor(random() * data.length);
      const cut2 = cut1 + Math.floor(random() * (data.length - cut1));
      const [a, b, c] = [data.subarray(0, cut1), data.subarray(cut1, cut2), data.subarray(cut2)];
      const abc = crc32Combine(crc32Combine(crc32(a), crc32(b), b.length), crc32(c), c.length);
      expect(abc).toBe(crc32(data));
    }
    const small = data.subarray(0, 3000);
    let folded = crc32(Buffer.alloc(0));
    for (let i = 0; i < small.length; i++) folded = crc32Combine(folded, crc32(small.subarray(i, i + 1)), 1);
    expect(folded).toBe(crc32(small));
  });

  // zlib.crc32 streams ~4 GiB/s here: one pass over 2^32 zero bytes and two over a 4 GiB B
  // take ~3 s; the timeout leaves room for a loaded machine.
  it(
    'is exact past 2^32 bytes: against zlib streaming 2^32 zero bytes, and a 4 GiB B after an A',
    { timeout: 120_000 },
    () => {
      // The CRC-32 of 2^k zero bytes by doubling with crc32Combine itself, against zlib
      // streaming them (every power of two from 4 MiB to 4 GiB).
      const zeros = Buffer.alloc(4 * MiB);
      const doubled = [crc32(Buffer.alloc(1))]; // doubled[k]: 2^k zero bytes
      for (let k = 0; k < 32; k++) doubled.push(crc32Combine(doubled[k]!, doubled[k]!, 2 ** k));
      let streamed = 0;
      for (let i = 1; i <= 1024; i++) {
        streamed = crc32(zeros, streamed);
        const k = Math.log2(i * zeros.length);
        if (Number.isInteger(k)) expect({ k, crc: doubled[k] }).toEqual({ k, crc: streamed });
      }

      // Random bytes: a B of 4099 MiB + 7 bytes (over 2^32, so x^(2^k) for k past the
      // table's 32 entries) after a 1 MiB A.
      const block = randomBytes(MiB);
      const tail = randomBytes(7);
      const a = randomBytes(MiB);
      const lengthB = 4099 * MiB + tail.length;
      expect(lengthB).toBeGreaterThan(2 ** 32);
      const crcB = streamedCrc(block, 4099, tail);
      const crcAB = streamedCrc(block, 4099, tail, crc32(a));
      expect(crc32Combine(crc32(a), crcB, lengthB)).toBe(crcAB);
    },
  );

  it('is associative for lengths up to 2^53 - 1 (A, B, C as one file whatever the grouping)', () => {
    const random = rng(7);
    const crc = () => Math.floor(random() * 2 ** 32);
    const lengths: [number, number][] = [
      [2 ** 40 - 1, 1], // B + C carries into bit 40
      [2 ** 40, 2 ** 40],
      [2 ** 32 - 1, 2 ** 32 + 1],
      [2 ** 31, 2 ** 31], // a signed 32-bit shift of the length would fail here
      [3 * 2 ** 45 + 12_345, 2 ** 44 + 999],
      [2 ** 52, 2 ** 52 - 1], // B + C = 2^53 - 1, the largest safe length
      [0, 2 ** 41 + 5],
    ];
    for (let i = 0; i < 50; i++) {
      const b = Math.floor(random() * 2 ** 45);
      lengths.push([b, Math.floor(random() * 2 ** 45)]);
    }
    for (const [lengthB, lengthC] of lengths) {
      const [a, b, c] = [crc(), crc(), crc()];
      const left = crc32Combine(crc32Combine(a, b, lengthB), c, lengthC);
      const right = crc32Combine(a, crc32Combine(b, c, lengthC), lengthB + lengthC);
      expect({ lengthB, lengthC, crc: left }).toEqual({ lengthB, lengthC, crc: right });
      expect(left).toBeGreaterThanOrEqual(0);
      expect(left).toBeLessThan(2 ** 32);
    }
    // A big length moves A's CRC: its high bit is not lost (2^40 bytes is not 0 bytes).
    expect(crc32Combine(0x12345678, 0, 2 ** 40)).not.toBe(0x12345678);
  });

  it('refuses a length that is not a safe non-negative integer', () => {
    for (const bad of [-1, 0.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => crc32Combine(0, 0, bad)).toThrow(RangeError);
  });
});
