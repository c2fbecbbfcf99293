/** Small CSV exports that more than one test file uploads, with their hand-worked totals. */

/**
 * The column headed "Date" is a shipping date nobody filled in: read as is, every row is
 * rejected and the job fails NO_VALID_ROWS. The payment date sits under a header no matcher
 * knows ("Fecha cobro"); mapped to it, net revenue is 100.00 + 50.50 - 20.00 + 30.25 = 160.75.
 */
export const WRONG_DATE_COLUMN = [
  'Date,Fecha cobro,Amount,Customer',
  'pending,2024-01-05,100.00,alice',
  'pending,2024-01-20,50.50,bob',
  'pending,2024-02-03,-20.00,alice',
  'pending,2024-03-10,30.25,carol',
].join('\n');
