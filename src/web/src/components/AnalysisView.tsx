import { useId, useState, type ReactNode } from 'react';
import type { CurrencyAnalysis, RevenueAnalysis } from '../../../client/index.ts';
import { exclusionNote } from '../exclusions.ts';
import { formatCount, formatDay, formatMoney, formatShare } from '../format.ts';
import { CohortTable } from './CohortTable.tsx';
import { MonthlyChart } from './MonthlyChart.tsx';
import { RankedTable } from './RankedTable.tsx';

/** `afterSummary`: shown right below the headline figures (how the file was read). */
export function AnalysisView({
  analysis,
  afterSummary,
}: {
  analysis: RevenueAnalysis;
  afterSummary?: ReactNode;
}) {
  const [index, setIndex] = useState(0);
  const currencies = analysis.currencies;
  const selected = currencies[Math.min(index, currencies.length - 1)];
  const { rows, input } = analysis;
  // Seen without opening anything: how many rows were not sales, and the main reasons.
  const note = exclusionNote(rows.excluded, rows.exclusions);

  return (
    <div className="stack" data-testid="analysis">
      {currencies.length > 1 && (
        <div className="card currency-switch">
          <span id="currency-label" className="currency-switch__label">
            Currency
          </span>
          <div role="group" aria-labelledby="currency-label" className="segmented">
            {currencies.map((c, i) => (
              <button
                key={c.currency ?? 'unknown'}
                type="button"
                className="segmented__item"
                aria-pressed={i === index}
                onClick={() => setIndex(i)}
              >
                {c.currency ?? 'Unknown'}
              </button>
            ))}
          </div>
          <span className="muted small">Amounts in different currencies are never added together.</span>
        </div>
      )}

      {selected ? (
        <CurrencySection data={selected} afterSummary={afterSummary} note={note} />
      ) : (
        <>
          <section className="card">
            <p>No valid rows.</p>
            {note && <ExcludedNote note={note} />}
          </section>
          {afterSummary}
        </>
      )}

      <section className="card" aria-labelledby="rows-title">
        <h2 id="rows-title">Rows</h2>
        <p data-testid="row-summary">
          {formatCount(rows.total)} rows read · {formatCount(rows.valid)} used ·{' '}
          <span className={rows.rejected > 0 ? 'text-warning' : undefined}>
            {formatCount(rows.rejected)} rejected
          </span>
          {rows.excluded > 0 && <> · {formatCount(rows.excluded)} not sales</>}
        </p>
        <p className="muted small">{input.filename}</p>
        {rows.rejectedSamples.length > 0 && (
          <div className="table-wrap">
            <table className="table" data-testid="rejected-rows">
              <caption>
                Rejected rows
                {rows.rejected > rows.rejectedSamples.length ? ` (first ${rows.rejectedSamples.length})` : ''}
              </caption>
              <thead>
                <tr>
                  <th scope="col" className="num">
                    Line
                  </th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {rows.rejectedSamples.map((r) => (
                  <tr key={r.line}>
                    <td className="num">{r.line}</td>
                    <td>{r.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

function ExcludedNote({ note }: { note: string }) {
  return (
    <p className="muted small" data-testid="excluded-note">
      {note} See “How the file was read” to change which rows count.
    </p>
  );
}

function CurrencySection({
  data,
  afterSummary,
  note,
}: {
  data: CurrencyAnalysis;
  afterSummary: ReactNode;
  note: string | undefined;
}) {
  const id = useId();
  const { totals, currency } = data;
  const money = (v: number) => formatMoney(v, currency);
  return (
    <>
      <section className="card" aria-labelledby={`${id}-headline`}>
        <h2 id={`${id}-headline`}>Summary{currency ? ` · ${currency}` : ''}</h2>
        <dl className="figures">
          <Figure
            label="Net revenue"
            value={money(totals.revenue)}
            raw={totals.revenue}
            testId="net-revenue"
            big
          />
          <Figure label="Refunds" value={money(totals.refunds)} raw={totals.refunds} testId="refunds" />
          <Figure
            label="Transactions"
            value={formatCount(totals.transactions)}
            raw={totals.transactions}
            testId="transactions"
          />
          <Figure
            label="Customers"
            value={totals.customers === null ? '—' : formatCount(totals.customers)}
            raw={totals.customers}
            testId="customers"
          />
          <Figure
            label="Average order"
            value={money(totals.averageOrderValue)}
            raw={totals.averageOrderValue}
            testId="aov"
          />
          <Figure
            label="Period"
            value={`${formatDay(totals.firstDate)} – ${formatDay(totals.lastDate)}`}
            raw={`${totals.firstDate}/${totals.lastDate}`}
            testId="date-range"
          />
        </dl>
        {data.concentration && (
          <p className="muted small">
            Top 10 customers bring {formatShare(data.concentration.top10Share)} of net revenue · customer
            concentration (HHI, 0–10,000) {formatCount(Math.round(data.concentration.hhi * 10_000))}
          </p>
        )}
        {note && <ExcludedNote note={note} />}
      </section>

      {afterSummary}

      <section className="card" aria-labelledby={`${id}-monthly`}>
        <h2 id={`${id}-monthly`}>Monthly revenue</h2>
        <MonthlyChart monthly={data.monthly} currency={currency} />
      </section>

      <div className="grid-2">
        {data.topCustomers && (
          <RankedTable title="Top customers" rows={data.topCustomers} currency={currency} />
        )}
        {data.byProduct && <RankedTable title="Products" rows={data.byProduct} currency={currency} />}
        {data.byRegion && <RankedTable title="Regions" rows={data.byRegion} currency={currency} />}
      </div>

      {data.cohorts && data.cohorts.length > 0 && (
        <section className="card" aria-labelledby={`${id}-cohorts`}>
          <h2 id={`${id}-cohorts`}>Customer cohorts</h2>
          <p className="muted small">
            Customers grouped by the month of their first purchase; each column is the share still buying that
            many months later.
          </p>
          <CohortTable cohorts={data.cohorts} />
        </section>
      )}
    </>
  );
}

function Figure({
  label,
  value,
  raw,
  testId,
  big = false,
}: {
  label: string;
  value: string;
  raw: number | string | null;
  testId: string;
  big?: boolean;
}) {
  return (
    <div className={`figure${big ? ' figure--big' : ''}`}>
      <dt>{label}</dt>
      <dd data-testid={testId} data-value={raw ?? ''}>
        {value}
      </dd>
    </div>
  );
}
