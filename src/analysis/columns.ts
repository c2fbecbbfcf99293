import { TallyError } from '../errors.ts';
import { columnRoles } from './options.ts';
import type { ColumnRole, JobOptions } from './options.ts';

/**
 * Header names recognised per role (CONTRACT.md §5). Order matters: where two headers fit
 * one role, the header matching the earlier name wins (so "Created at" beats "Paid at" in a
 * Shopify export, and "Customer ID" beats "Customer Email" in a Stripe one).
 */
export const roleSynonyms: Readonly<Record<ColumnRole, readonly string[]>> = {
  date: [
    'date',
    'order date',
    'invoice date',
    'transaction date',
    'created',
    'created at',
    'created date',
    'paid at',
    'timestamp',
  ],
  amount: ['amount', 'revenue', 'total', 'net amount', 'sales', 'price total', 'gross'],
  customer: ['customer', 'customer id', 'customer email', 'email', 'client', 'account'],
  product: ['product', 'product name', 'sku', 'item', 'plan', 'lineitem name'],
  region: ['region', 'country', 'billing country', 'market', 'territory'],
  currency: ['currency', 'currency code'],
  quantity: ['quantity', 'qty'],
  unitPrice: ['unit price', 'price'],
};

/**
 * Case-insensitive, spaces/underscores/hyphens alike, surrounding whitespace ignored, and a
 * trailing parenthesised note dropped ("Created (UTC)" → "created", as Stripe writes it).
 */
export function normalizeHeaderName(name: string): string {
  let s = name
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase();
  s = s.replace(/\s*\([^()]*\)\s*$/, '');
  return s.replace(/[\s_-]+/g, ' ').trim();
}

export interface ColumnMap {
  /** role → header name as it appears in the file. */
  readonly names: Partial<Record<ColumnRole, string>>;
  /** role → field index, -1 when absent. */
  readonly index: Readonly<Record<ColumnRole, number>>;
  /** true when amount comes from quantity × unit price. */
  readonly amountFromQuantity: boolean;
}

export function quoteList(values: readonly string[], max = 30): string {
  const shown = values.slice(0, max).map((v) => JSON.stringify(v));
  if (values.length > max) shown.push(`… (${values.length - max} more)`);
  return shown.join(', ');
}

/**
 * Assigns roles to header fields: explicit `options.columns` first (exact text, then the
 * normalised form), then the synonym table. Throws INVALID_CSV naming the headers found
 * when a required column is missing or a mapped one does not exist.
 */
export function resolveColumns(header: readonly string[], options: JobOptions): ColumnMap {
  const normalized = header.map(normalizeHeaderName);
  const names: Partial<Record<ColumnRole, string>> = {};
  const index = Object.fromEntries(columnRoles.map((r) => [r, -1])) as Record<ColumnRole, number>;
  const taken = new Set<number>();
  const headersText = quoteList(header);

  const mapped = options.columns ?? {};
  for (const role of columnRoles) {
    const wanted = mapped[role];
    if (wanted === undefined) continue;
    let i = header.indexOf(wanted);
    if (i < 0) i = header.findIndex((h) => h.trim() === wanted.trim());
    if (i < 0) i = normalized.indexOf(normalizeHeaderName(wanted));
    if (i < 0) {
      throw new TallyError(
        'INVALID_CSV',
        `options.columns.${role} is ${JSON.stringify(wanted)}, but the header has no such column. Headers: ${headersText}.`,
      );
    }
    index[role] = i;
    names[role] = header[i];
    taken.add(i);
  }

  for (const role of columnRoles) {
    if (index[role] >= 0) continue;
    for (const synonym of roleSynonyms[role]) {
      const i = normalized.findIndex((n, j) => n === synonym && !taken.has(j));
      if (i >= 0) {
        index[role] = i;
        names[role] = header[i];
        taken.add(i);
        break;
      }
    }
  }

  if (index.date < 0) {
    throw new TallyError(
      'INVALID_CSV',
      `No date column found. Headers: ${headersText}. Map one with options.columns.date.`,
    );
  }
  const amountFromQuantity = index.amount < 0;
  if (amountFromQuantity && (index.quantity < 0 || index.unitPrice < 0)) {
    throw new TallyError(
      'INVALID_CSV',
      `No amount column found (nor quantity and unit price). Headers: ${headersText}. Map one with options.columns.amount.`,
    );
  }
  return { names, index, amountFromQuantity };
}
