import { createWriteStream, existsSync, renameSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** mulberry32: a tiny deterministic PRNG, so every run benchmarks the same bytes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REGIONS = ['North America', 'Europe', 'Asia Pacific', 'Latin America', 'Middle East'];
export const GENERATOR_VERSION = 2;

/**
 * Deterministic revenue export: `rows` data rows, ~80 bytes each, two years of dates in
 * order, ~50k customers with a skewed distribution, 400 products, 5 regions, USD mostly
 * with some EUR, 2% refunds, 1% amounts with a thousands separator (quoted).
 */
export async function generateRevenueCsv(path: string, rows: number, seed = 42): Promise<void> {
  const rnd = prng(seed);
  const tmp = `${path}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  let buf = 'Order ID,Date,Customer ID,Product,Region,Currency,Quantity,Unit Price,Amount\n';
  const startDay = Date.UTC(2023, 0, 1) / 86_400_000;
  const days = 730;
  const customers = Math.max(10, Math.min(50_000, Math.floor(rows / 20)));
  for (let i = 0; i < rows; i++) {
    const day = startDay + Math.floor((i / rows) * days);
    const date = new Date(day * 86_400_000).toISOString().slice(0, 10);
    const c = Math.floor(customers * rnd() ** 2);
    const product = Math.floor(rnd() * 400);
    const qty = 1 + Math.floor(rnd() * 5);
    const cents = 199 + Math.floor(rnd() * 30_000);
    let amountCents = qty * cents;
    if (rnd() < 0.02) amountCents = -amountCents;
    const currency = rnd() < 0.9 ? 'USD' : 'EUR';
    const abs = Math.abs(amountCents);
    let amount = `${amountCents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
    if (abs >= 100_000 && rnd() < 0.5) {
      const whole = Math.floor(abs / 100);
      amount = `"${amountCents < 0 ? '-' : ''}${Math.floor(whole / 1000)},${String(whole % 1000).padStart(3, '0')}.${String(abs % 100).padStart(2, '0')}"`;
    }
    const unit = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    buf += `ORD-${String(i + 1).padStart(7, '0')},${date},CUST-${String(c).padStart(6, '0')},Product ${product},${REGIONS[product % REGIONS.length]!},${currency},${qty},${unit},${amount}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  renameSync(tmp, path);
}

/** Path of the cached benchmark file for `rows` rows, generated on first use. */
export async function benchFile(rows: number): Promise<{ path: string; bytes: number; generated: boolean }> {
  const path = join(tmpdir(), `tally-bench-revenue-v${GENERATOR_VERSION}-${rows}.csv`);
  let generated = false;
  if (!existsSync(path)) {
    await generateRevenueCsv(path, rows);
    generated = true;
  }
  return { path, bytes: statSync(path).size, generated };
}

export interface CardinalityFileSpec {
  /** Stop once the file reaches this size. */
  bytes: number;
  /** Distinct customers: rows cycle through all of them (in a scrambled order), then repeat. */
  customers: number;
  /** Distinct products, cycled the same way. */
  products: number;
}

/**
 * Same columns as `generateRevenueCsv`, with the number of distinct customers and products
 * chosen: row i buys as customer (i mod C)·A mod C and product (i mod P)·A' mod P (A, A'
 * coprime to the counts: a scrambled bijection), so every key appears once before any
 * repeats, and the customers that repeat do so months later (cohorts see returns). Dates
 * run over two years in file order. Returns the row count.
 */
export async function generateCardinalityCsv(
  path: string,
  spec: CardinalityFileSpec,
  seed = 7,
): Promise<number> {
  const rnd = prng(seed);
  const out = createWriteStream(path);
  let buf = 'Order ID,Date,Customer ID,Product,Region,Currency,Quantity,Unit Price,Amount\n';
  let written = 0;
  const startDay = Date.UTC(2023, 0, 1) / 86_400_000;
  const { customers, products } = spec;
  const mulC = coprimeMultiplier(customers, 7_368_787);
  const mulP = coprimeMultiplier(products, 3_885_019);
  let rows = 0;
  let day = -1;
  let date = '';
  while (written + buf.length < spec.bytes) {
    const d = startDay + Math.floor(((written + buf.length) / spec.bytes) * 730);
    if (d !== day) {
      day = d;
      date = new Date(day * 86_400_000).toISOString().slice(0, 10);
    }
    const c = ((rows % customers) * mulC) % customers;
    const p = ((rows % products) * mulP) % products;
    const qty = 1 + Math.floor(rnd() * 5);
    const cents = 199 + Math.floor(rnd() * 30_000);
    const amountCents = rnd() < 0.02 ? -qty * cents : qty * cents;
    const abs = Math.abs(amountCents);
    const amount = `${amountCents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
    const unit = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    rows++;
    buf += `ORD-${String(rows).padStart(8, '0')},${date},CUST-${String(c).padStart(8, '0')},P-${String(p).padStart(7, '0')},${REGIONS[p % REGIONS.length]!},${rnd() < 0.9 ? 'USD' : 'EUR'},${qty},${unit},${amount}\n`;
    if (buf.length > 1 << 20) {
      written += buf.length;
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return rows;
}

/** `preferred` or the next number coprime to n (n > 0), below n when n is small. */
function coprimeMultiplier(n: number, preferred: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let m = n > preferred ? preferred : Math.max(1, Math.floor(n * 0.618));
  while (gcd(m, n) !== 1) m++;
  return m;
}
