import { fileError } from './input-error.ts';
import { withoutControls } from '../values/keys.ts';
import { columnRoles } from '../options.ts';
import type { ColumnRole, JobOptions } from '../options.ts';

/**
 * Header names recognised per role: CONTRACT.md §5.2's table (v1.2), in its order, then a few
 * names real exports use besides (WooCommerce's "Order Total", SAP SE16N's "Created On" /
 * "Net Value" / "Sold-To Party" / "Document Currency"). Order matters: where two headers
 * fit one role, the header matching the earlier name wins (so "Created at" beats "Paid at"
 * in a Shopify export, "Customer ID" beats "Customer Email" in a Stripe one and "Region"
 * beats "Country" in a superstore sample).
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
    'date paid',
    'payment date',
    'sale date',
    'date created',
    'order created',
    'datum',
    'fecha',
    'data',
    'created on',
    'document date',
  ],
  amount: [
    'amount',
    'revenue',
    'total',
    'net amount',
    'sales',
    'price total',
    'gross',
    'item total',
    'net sales',
    'gross sales',
    'order total',
    'net value',
    'grand total',
    'gross amount',
    'gross amt',
    'amt',
    'brutto',
    'betrag',
    'umsatz',
    'bruto',
    'importe',
    'valor bruto',
    'valor',
    'montant',
    'importo',
    'bedrag',
    'earnings',
    'estimated earnings',
  ],
  customer: [
    'customer',
    'customer id',
    'customer email',
    'email',
    'client',
    'account',
    'customer name',
    'buyer',
    'billing email',
    'buyer email',
    'kunde',
    'cliente',
    'klant',
    'sold to party',
  ],
  product: [
    'product',
    'product name',
    'sku',
    'item',
    'plan',
    'lineitem name',
    'item name',
    'product title',
    'artikel',
    'producto',
    'produto',
    'produit',
    'prodotto',
  ],
  region: [
    'region',
    'country',
    'billing country',
    'market',
    'territory',
    'ship country',
    'shipping country',
    'country code',
    'land',
    'país',
    'pais',
    'pays',
    'paese',
  ],
  currency: [
    'currency',
    'currency code',
    'document currency',
    'währung',
    'moneda',
    'moeda',
    'devise',
    'valuta',
  ],
  quantity: [
    'quantity',
    'qty',
    'quantity ordered',
    'menge',
    'anzahl',
    'cantidad',
    'quantidade',
    'quantité',
    'quantità',
    'aantal',
  ],
  unitPrice: ['unit price', 'price', 'price each', 'preis', 'precio', 'preço', 'prix', 'prezzo', 'prijs'],
  status: ['status', 'financial status', 'payment status', 'order status', 'transaction status', 'estado'],
  type: ['type', 'transaction type', 'event type', 'reporting category', 'kind', 'typ', 'tipo'],
  refunded: ['amount refunded', 'refunded amount', 'refund amount'],
  cancelled: ['cancelled at', 'canceled at', 'cancelled date', 'cancellation date'],
  credit: ['credit', 'gross credit', 'credit amount', 'haben'],
  debit: ['debit', 'gross debit', 'debit amount', 'soll'],
};

/**
 * The matching key of a header (CONTRACT.md §5 v1.1): case-insensitive, surrounding
 * whitespace, spaces, underscores, hyphens and dots ignored, a trailing parenthesised
 * qualifier dropped ("Created date (UTC)"), and a leading "*" (Xero marks required
 * columns so: "*InvoiceDate"). `InvoiceDate`, `invoice_date`, ` Invoice Date` and
 * `Invoice Date (UTC)` all give "invoicedate".
 */
export function normalizeHeaderName(name: string): string {
  return name
    .normalize('NFC')
    .replace(/^\uFEFF/, '')
    .trim()
    .replace(/\s*\([^()]*\)\s*$/, '')
    .replace(/^\*/, '')
    .toLowerCase()
    .replace(/[\s_.-]+/g, '');
}

const synonymKeys: Readonly<Record<ColumnRole, readonly string[]>> = Object.fromEntries(
  Object.entries(roleSynonyms).map(([role, names]) => [role, names.map(normalizeHeaderName)]),
) as unknown as Record<ColumnRole, readonly string[]>;

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
      throw fileError(
        'INVALID_CSV',
        `options.columns.${role} is ${JSON.stringify(wanted)}, but the header has no such column. Headers: ${headersText}.`,
        `options.columns.${role} names a column the header does not have (the file has ${header.length} columns).`,
        { headers: header.map(withoutControls) },
      );
    }
    index[role] = i;
    names[role] = withoutControls(header[i]!);
    taken.add(i);
  }

  for (const role of columnRoles) {
    if (index[role] >= 0) continue;
    for (const synonym of synonymKeys[role]) {
      const i = normalized.findIndex((n, j) => n === synonym && !taken.has(j));
      if (i >= 0) {
        index[role] = i;
        names[role] = withoutControls(header[i]!);
        taken.add(i);
        break;
      }
    }
  }

  if (index.date < 0) {
    throw fileError(
      'INVALID_CSV',
      `No date column found. Headers: ${headersText}. Map one with options.columns.date.`,
      `No date column found among the file's ${header.length} columns. Map one with options.columns.date.`,
      { headers: header.map(withoutControls) },
    );
  }
  const amountFromQuantity = index.amount < 0;
  if (amountFromQuantity && (index.quantity < 0 || index.unitPrice < 0)) {
    throw fileError(
      'INVALID_CSV',
      `No amount column found (nor quantity and unit price). Headers: ${headersText}. Map one with options.columns.amount.`,
      `No amount column found (nor quantity and unit price) among the file's ${header.length} columns. Map one with options.columns.amount.`,
      { headers: header.map(withoutControls) },
    );
  }
  return { names, index, amountFromQuantity };
}
