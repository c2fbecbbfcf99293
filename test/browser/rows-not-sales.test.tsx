// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { Readable } from 'node:stream';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import type { JobOptions } from '../../src/analysis/options.ts';
import type { RevenueAnalysis } from '../../src/client/index.ts';
import { AnalysisView } from '../../src/web/src/components/AnalysisView.tsx';
import { RowsNotSales } from '../../src/web/src/components/RowsNotSales.tsx';
import {
  classificationChanged,
  counts,
  excludedByOptions,
  exclusionNote,
  setCounted,
} from '../../src/web/src/exclusions.ts';
import {
  EMPTY_FORMAT,
  formatFromReading,
  readingOf,
  toOptions,
  type Format,
} from '../../src/web/src/mapping.ts';

/**
 * The page's side of docs/reference.md's "Rows that are not sales" on hand-written results
 * (the shape of "The result"): the note,
 * the card's lists and checkboxes, and the options a change becomes. A balance export:
 * charges and refunds count; payouts and fees are left out by the type words; one value
 * ("Adjustment") was left out by the person's own options.
 */
const categories: RevenueAnalysis['input']['categories'] = [
  {
    role: 'type',
    column: 'Type',
    values: [
      { value: 'charge', rows: 500, treatedAs: 'sale' },
      { value: 'payout', rows: 24, treatedAs: 'excluded' },
      { value: 'stripe_fee', rows: 41, treatedAs: 'excluded' },
      { value: 'refund', rows: 12, treatedAs: 'refund' },
      { value: 'Adjustment', rows: 3, treatedAs: 'excluded' },
    ],
  },
  {
    role: 'status',
    column: 'Status',
    values: [
      { value: 'paid', rows: 512, treatedAs: 'sale' },
      { value: 'failed', rows: 7, treatedAs: 'excluded' },
    ],
  },
];
const exclusions: RevenueAnalysis['rows']['exclusions'] = [
  { reason: 'type: stripe_fee', rows: 41, firstLine: 3 },
  { reason: 'type: payout', rows: 24, firstLine: 9 },
  { reason: 'status: failed', rows: 7, firstLine: 14 },
  { reason: 'excluded by options: Type = Adjustment', rows: 3, firstLine: 40 },
  { reason: 'repeated header', rows: 2, firstLine: 301 },
];

function analysis(): RevenueAnalysis {
  return {
    schemaVersion: 1,
    input: {
      filename: 'balance.csv',
      bytes: 1234,
      delimiter: ',',
      columns: { date: 'Created', amount: 'Amount', type: 'Type', status: 'Status' },
      encoding: 'utf-8',
      dateFormat: null,
      timeZone: null,
      categories,
    },
    rows: { total: 589, valid: 512, rejected: 0, excluded: 77, rejectedSamples: [], exclusions },
    currencies: [
      {
        currency: 'USD',
        totals: {
          revenue: 1000,
          refunds: 10,
          transactions: 512,
          customers: null,
          averageOrderValue: 1.95,
          firstDate: '2024-01-01',
          lastDate: '2024-01-31',
        },
        monthly: [],
        topCustomers: null,
        byProduct: null,
        byRegion: null,
        concentration: null,
        cohorts: null,
      },
    ],
  };
}

afterEach(cleanup);

describe('the one-line note', () => {
  it('says how many rows were not sales and the main reasons, most rows first', () => {
    expect(exclusionNote(77, exclusions)).toBe(
      '77 rows were not sales: stripe_fee 41, payout 24, failed 7, Adjustment (your choice) 3, and 1 more reason.',
    );
    expect(exclusionNote(1, [{ reason: 'cancelled', rows: 1, firstLine: 2 }])).toBe(
      '1 row was not a sale: cancelled 1.',
    );
    expect(exclusionNote(0, [])).toBeUndefined();
  });

  it('stands in the summary of a result with excluded rows, and not in one without', () => {
    render(<AnalysisView analysis={analysis()} />);
    expect(screen.getByTestId('excluded-note').textContent).toMatch(/^77 rows were not sales: stripe_fee 41/);
    expect(screen.getByTestId('row-summary').textContent).toContain('77 not sales');
    cleanup();
    const plain = analysis();
    plain.rows = { ...plain.rows, excluded: 0, exclusions: [], total: 512 };
    render(<AnalysisView analysis={plain} />);
    expect(screen.queryByTestId('excluded-note')).toBeNull();
  });
});

describe('which rows count, as options', () => {
  const reading = readingOf(analysis());
  const initial = formatFromReading(reading);
  const ran = initial.exclude;

  it('reads the run’s own options.exclude back from its reasons', () => {
    expect(excludedByOptions(exclusions)).toEqual({ Type: ['Adjustment'] });
    expect(toOptions(initial)).toEqual({
      delimiter: ',',
      encoding: 'utf-8',
      columns: { date: 'Created', amount: 'Amount', type: 'Type', status: 'Status' },
      exclude: { Type: ['Adjustment'] },
    });
    expect(classificationChanged(initial, initial)).toBe(false);
  });

  it('leaves a counted value out with options.exclude, and counts an option-excluded one again', () => {
    const noCharges = setCounted(initial, ran, categories, { column: 'Type', value: 'charge' }, false);
    expect(toOptions(noCharges).exclude).toEqual({ Type: ['Adjustment', 'charge'] });
    const adjusted = setCounted(initial, ran, categories, { column: 'Type', value: 'adjustment' }, true);
    expect(toOptions(adjusted).exclude).toBeUndefined();
    expect(toOptions(adjusted).rowRules).toBeUndefined();
  });

  it('counts a value the automatic rules left out by turning them off and keeping the others out', () => {
    const payouts = setCounted(initial, ran, categories, { column: 'Type', value: 'payout' }, true);
    const options = toOptions(payouts);
    expect(options.rowRules).toBe(false);
    expect(options.exclude).toEqual({ Type: ['Adjustment', 'stripe_fee'], Status: ['failed'] });
    const type = categories[0]!;
    expect(type.values.map((v) => counts(payouts, ran, 'Type', v))).toEqual([true, true, false, true, false]);
    expect(classificationChanged(payouts, initial)).toBe(true);
  });

  it('sends the time zone chosen', () => {
    expect(toOptions({ ...EMPTY_FORMAT, timeZone: 'America/New_York' })).toEqual({
      timeZone: 'America/New_York',
    });
  });
});

describe('the card’s controls', () => {
  function Harness({ onFormat }: { onFormat: (f: Format) => void }) {
    const reading = readingOf(analysis());
    const [initial] = useState(() => formatFromReading(reading));
    const [format, setFormat] = useState(initial);
    onFormat(format);
    return (
      <RowsNotSales
        excluded={77}
        exclusions={exclusions}
        categories={categories}
        format={format}
        ran={initial.exclude}
        onChange={setFormat}
        disabled={false}
      />
    );
  }

  it('lists why rows were left out and each value with its treatment; a tick changes the options', () => {
    let format = EMPTY_FORMAT;
    render(<Harness onFormat={(f) => (format = f)} />);
    expect(screen.getByTestId('rows-not-sales-summary').textContent).toMatch(/^77 rows were not sales/);
    const reasons = within(screen.getByTestId('exclusions')).getAllByRole('row').slice(1);
    expect(reasons.map((r) => r.textContent)).toEqual([
      'stripe_fee413',
      'payout249',
      'failed714',
      'Adjustment (your choice)340',
      'repeated header rows2301',
    ]);
    const type = within(screen.getByTestId('category-type'));
    expect(
      type
        .getAllByRole('row')
        .slice(1)
        .map((r) => r.querySelector('td:nth-child(3)')?.textContent),
    ).toEqual(['Sale', 'Left out', 'Left out', 'Refund', 'Left out']);
    const fee = screen.getByRole<HTMLInputElement>('checkbox', {
      name: 'Count rows whose Type is “stripe_fee”',
    });
    expect(fee.checked).toBe(false);
    const charge = screen.getByRole('checkbox', { name: 'Count rows whose Type is “charge”' });
    fireEvent.click(charge);
    expect(toOptions(format).exclude).toEqual({ Type: ['Adjustment', 'charge'] });
    expect(type.getByText('→ will be left out')).toBeTruthy();

    fireEvent.change(screen.getByTestId('time-zone'), { target: { value: 'Europe/Berlin' } });
    expect(format.timeZone).toBe('Europe/Berlin');
  });
});

describe('a re-run from a result this tab did not start', () => {
  // The engine's own result (no hand-written treatment): a failed charge, a payout, a fee.
  const CSV = [
    'Created,Amount,Status,Type',
    '2024-06-01,100.00,paid,charge',
    '2024-06-02,40.00,failed,charge',
    '2024-06-03,-60.00,paid,payout',
    '2024-06-04,-5.00,paid,fee',
  ].join('\n');

  async function resultOf(options: JobOptions): Promise<RevenueAnalysis> {
    const bytes = Buffer.from(CSV);
    return analyzeCsvStream(Readable.from([bytes]), {
      filename: 'balance.csv',
      bytes: bytes.length,
      options,
    });
  }

  it('keeps the automatic rules off when the run had them off, and on when it had them on', async () => {
    const off = formatFromReading(readingOf(await resultOf({ rowRules: false, exclude: { Type: ['fee'] } })));
    expect(toOptions(off)).toMatchObject({ rowRules: false, exclude: { Type: ['fee'] } });
    const on = formatFromReading(readingOf(await resultOf({})));
    expect(on.rowRules).toBe(true);
    expect(toOptions(on).rowRules).toBeUndefined();
  });
});
