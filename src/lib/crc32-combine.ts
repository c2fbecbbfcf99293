/**
 * The CRC-32 of A followed by B from A's CRC-32, B's CRC-32 and B's length, as zlib's
 * `crc32_combine` computes it (Node's zlib binding exposes `crc32` but not this): how the
 * CRC-32s of a split file's parts make the whole file's, to compare with the one taken at
 * upload (files/file-digest.ts), without any part reading the whole file.
 *
 * zlib 1.2.12+'s method (crc32.c): A's CRC times x^(8·lengthB) modulo the CRC-32 polynomial,
 * xor B's CRC. x^(8·n) is a product of x^(2^k) for the bits of n, taken from a table of
 * x^(2^k) for k < 32 (it repeats with period 32: x^(2^32) = x mod p). Polynomials are
 * bit-reflected, as zlib's: bit 31 is x^0.
 *
 * Hand-written, not a dependency: the npm package that combines CRC-32s,
 * @balena/node-crc-utils (3.1.0), is zlib compiled to WebAssembly (17 KB of JS) behind an
 * async `ready`, returns a Buffer and ships no types; the widely used CRC-32 packages
 * (crc-32, buffer-crc32, crc32-stream, @node-rs/crc32) compute CRC-32s but do not combine them.
 */

/** The CRC-32 polynomial, reflected. */
const POLY = 0xedb88320;

/** a·b modulo p, for reflected polynomials (zlib's multmodp). */
function multModP(a: number, b: number): number {
  let product = 0;
  for (let m = 0x80000000; m !== 0 && (a & (m | (m - 1))) !== 0; m >>>= 1) {
    if ((a & m) !== 0) product ^= b;
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo p for k = 0..31 (zlib's x2n_table). */
const X2N: readonly number[] = (() => {
  const table = [0x40000000]; // x^1
  for (let k = 1; k < 32; k++) table.push(multModP(table[k - 1]!, table[k - 1]!));
  return table;
})();

/** x^(n·2^k) modulo p (zlib's x2nmodp); n is walked bit by bit with exact arithmetic, not `>>`. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k % 32]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/**
 * The CRC-32 of A then B (unsigned, as zlib.crc32 returns it), from crcA, crcB and B's
 * length in bytes (any safe integer: 2^53 - 1 bytes at most).
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`lengthB: ${lengthB}`);
  return (multModP(x2nModP(lengthB, 3), crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}
