/**
 * A rough upper estimate of the entropy of a secret, in bits: its length times the
 * Shannon entropy of its own character frequencies. It cannot prove a secret random, but
 * it catches placeholders: `aaaaaaaaaaaaaaaa` scores 0, `abcabcabcabcabca` 25, while 16
 * random hex digits score ~50 and 16 random base64url characters ~60.
 */
export function estimateEntropyBits(secret: string): number {
  const chars = [...secret];
  const counts = new Map<string, number>();
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / chars.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * chars.length;
}
