/** Deterministic CSV exports for the split-analysis tests: every kind of row a merge must get right. */

import { rng } from '../support/rng.ts';

export interface SplitFileShape {
  rows: number;
  seed: number;
  /** Distinct customers (high cardinality: far past the spill threshold the tests set). */
  customers: number;
  lineEnd?: '\n' | '\r\n';
}

const STATUSES = ['paid', 'paid', 'paid', 'paid', 'cancelled', 'pending', 'Paid ', 'test'];
const TYPES = ['sale', 'sale', 'sale', 'refund', 'sale', 'chargeback'];

/**
 * Rows over 2020–2024 with: quoted notes holding line breaks (a third of the bytes sit
 * inside quoted fields, so most cuts land in one), refunds by type and by sign, rejected
 * rows (bad dates, bad amounts, wrong field counts), excluded rows (status, type), a second
 * currency, blank lines, a stray quote inside an unquoted field, escaped quotes, and
 * `customers` distinct customers.
 */
export function splitFile(shape: SplitFileShape): Buffer {
  const r = rng(shape.seed);
  const nl = shape.lineEnd ?? '\n';
  const lines = ['Date,Customer,Product,Status,Type,Amount,Currency,Notes'];
  for (let i = 0; i < shape.rows; i++) {
    const y = 2020 + Math.floor(r() * 5);
    const m = String(1 + Math.floor(r() * 12)).padStart(2, '0');
    const d = String(1 + Math.floor(r() * 28)).padStart(2, '0');
    let date = `${y}-${m}-${d}`;
    if (r() < 0.01) date = 'someday';
    const cents = Math.floor(r() * 200000) - (r() < 0.05 ? 150000 : 0);
    let amount = `${(cents / 100).toFixed(2)}`;
    if (r() < 0.01) amount = 'n/a';
    const customer = `cust-${Math.floor(r() * shape.customers)}`;
    const product = r() < 0.5 ? `p${Math.floor(r() * 300)}` : `"Widget ""${Math.floor(r() * 40)}"""`;
    const status = STATUSES[Math.floor(r() * STATUSES.length)]!;
    const type = TYPES[Math.floor(r() * TYPES.length)]!;
    const currency = r() < 0.85 ? 'USD' : 'EUR';
    const k = r();
    const notes =
      k < 0.4
        ? `"line one of ${i}${nl}line two, with a comma${nl}and ""quotes"" ${'x'.repeat(Math.floor(r() * 80))}"`
        : k < 0.45
          ? `5" screen ${i}`
          : '';
    let line = `${date},${customer},${product},${status},${type},${amount},${currency},${notes}`;
    if (r() < 0.005) line += ',extra';
    lines.push(line);
    if (r() < 0.003) lines.push('');
  }
  return Buffer.from(lines.join(nl) + nl);
}
