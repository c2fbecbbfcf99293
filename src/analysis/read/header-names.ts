import type { ColumnRole } from '../options.ts';

/**
 * Header names recognised per role (docs/reference.md, "Columns"), in the public contract's
 * order (v1.2), then a few
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
 * The matching key of a header (docs/reference.md, "Columns"): case-insensitive, surrounding
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

export const synonymKeys: Readonly<Record<ColumnRole, readonly string[]>> = Object.fromEntries(
  Object.entries(roleSynonyms).map(([role, names]) => [role, names.map(normalizeHeaderName)]),
) as unknown as Record<ColumnRole, readonly string[]>;
