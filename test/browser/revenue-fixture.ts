import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * A deterministic, realistic-looking revenue export: 18 months of orders with growth,
 * repeat customers, products, regions, two currencies, a few refunds and a few broken
 * rows. Amounts are generated as integer cents, so the expected totals are exact.
 */
export interface Fixture {
  path: string;
  bytes: number;
  rows: number;
  /** Net revenue per currency in integer cents. */
  centsByCurrency: Map<string, bigint>;
  /** 1-based physical line numbers of the rows the analysis must reject. */
  badLines: number[];
}

const PRODUCTS = ['Starter', 'Team', 'Business', 'Enterprise', 'Add-on seats', 'Support plan', 'Training'];
const PRICES = [1900, 4900, 9900, 29900, 1500, 7500, 45000];
const REGIONS = ['US', 'CA', 'GB', 'DE', 'FR', 'NL', 'AU', 'BR'];

export async function writeRevenueFixture(path: string, rows: number, seed = 42): Promise<Fixture> {
  let state = seed >>> 0;
  const random = () => {
    // mulberry32: small, fast, and the same sequence on every machine
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = createWriteStream(path);
  const centsByCurrency = new Map<string, bigint>();
  const badLines: number[] = [];
  let bytes = 0;
  let buffer = '';
  const write = async (text: string) => {
    buffer += text;
    bytes += Buffer.byteLength(text);
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  };

  await write('order_date,customer_email,product,billing_country,currency,amount\n');
  const start = Date.UTC(2023, 0, 1);
  const days = 547; // 2023-01-01 … 2024-07-01
  for (let i = 0; i < rows; i++) {
    const line = i + 2;
    if (i % 50_000 === 17) {
      badLines.push(line);
      await write(`not a date,someone@example.com,Team,US,USD,49.00\n`);
      continue;
    }
    // Later days are likelier: revenue grows over the period.
    const day = Math.floor(Math.sqrt(random()) * days);
    const date = new Date(start + day * 86_400_000).toISOString().slice(0, 10);
    // Customers join on some day and buy less and less often afterwards: recent joiners
    // are likelier, so cohorts show retention falling off.
    const joined = day - Math.floor(random() ** 3 * day);
    const customer = joined * 300 + Math.floor(random() * 300);
    const p = Math.floor(random() ** 1.3 * PRODUCTS.length);
    const region = REGIONS[Math.floor(random() ** 1.5 * REGIONS.length)]!;
    const currency = region === 'DE' || region === 'FR' || region === 'NL' ? 'EUR' : 'USD';
    const quantity = 1 + Math.floor(random() ** 3 * 4);
    let cents = PRICES[p]! * quantity;
    if (random() < 0.03) cents = -cents; // refund
    centsByCurrency.set(currency, (centsByCurrency.get(currency) ?? 0n) + BigInt(cents));
    await write(
      `${date},c${customer}@example.com,${PRODUCTS[p]},${region},${currency},${formatCents(cents)}\n`,
    );
  }
  out.end(buffer);
  await once(out, 'finish');
  return { path, bytes, rows, centsByCurrency, badLines };
}

export function formatCents(cents: number): string {
  const abs = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
