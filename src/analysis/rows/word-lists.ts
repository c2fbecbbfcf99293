/**
 * The word lists of docs/reference.md, "Rows that are not sales", and the one way a cell is matched against them:
 * the cell is lower-cased and cut into words at every character that is not a letter; a
 * list word matches a cell word that equals it or, for list words of 6 letters or more,
 * contains it ("payout" matches "payouts", "stripe_fee" has the word "fee"; "fee" does not
 * match "coffee", being shorter than 6 letters).
 */

/** Status words: a row whose status cell has one of them is excluded. */
export const STATUS_EXCLUDED = words(
  'failed failure declined canceled cancelled cancel voided void expired refused rejected abandoned ' +
    'draft trash denied storniert fehlgeschlagen abgelehnt cancelado cancelada rechazado rechazada ' +
    'fallido annulé annulée recusado',
);

export const TYPE_TRANSFERS = words(
  'payout withdrawal transfer deposit conversion hold release reserve topup funding abbuchung ' +
    'auszahlung umrechnung einbehaltung einbehalten freigabe überweisung einzahlung aufladung retiro ' +
    'conversión retenido liberación virement retrait saque transferência',
);
export const TYPE_FEES = words(
  'fee fees commission tax vat marketing postage label gebühr gebühren steuer comisión comision ' +
    'tarifa impuesto frais taxe taxa',
);
export const TYPE_NO_MONEY = words('authorization authorisation void voided adjustment');
export const TYPE_REFUNDS = words(
  'refund refunds refunded chargeback rückzahlung rückerstattung erstattung reembolso devolución ' +
    'devolucion remboursement estorno',
);

/** What a type cell makes of its row. */
export const TypeTreatment = { Sale: 0, Refund: 1, Transfer: 2, Fee: 3, NoMoney: 4 } as const;
export type TypeTreatment = (typeof TypeTreatment)[keyof typeof TypeTreatment];

function words(list: string): readonly string[] {
  return list.split(' ').map((w) => w.normalize('NFC'));
}

/** The cell's words: lower-cased, cut at every character that is not a letter. */
export function cellWords(cell: string): string[] {
  return cell
    .normalize('NFC')
    .toLowerCase()
    .split(/[^\p{L}]+/u)
    .filter((w) => w !== '');
}

/** Does a list word match one of the cell's words (the rule above)? */
export function matchesList(cellWordsOf: readonly string[], list: readonly string[]): boolean {
  for (const w of list) {
    const contains = w.length >= 6;
    for (const c of cellWordsOf) {
      if (c === w || (contains && c.includes(w))) return true;
    }
  }
  return false;
}

/** Is a row with this status cell excluded (rule 3)? */
export function statusExcludes(cell: string): boolean {
  return matchesList(cellWords(cell), STATUS_EXCLUDED);
}

/** Rule 4: the first list a type cell matches, in the contract's order. */
export function typeTreatment(cell: string): TypeTreatment {
  const w = cellWords(cell);
  if (w.length === 0) return TypeTreatment.Sale;
  if (matchesList(w, TYPE_TRANSFERS)) return TypeTreatment.Transfer;
  if (matchesList(w, TYPE_FEES)) return TypeTreatment.Fee;
  if (matchesList(w, TYPE_NO_MONEY)) return TypeTreatment.NoMoney;
  if (matchesList(w, TYPE_REFUNDS)) return TypeTreatment.Refund;
  return TypeTreatment.Sale;
}
