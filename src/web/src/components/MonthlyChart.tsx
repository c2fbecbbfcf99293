import { useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { CurrencyAnalysis } from '../../../client/index.ts';
import { formatCompact, formatCount, formatMoney, formatMonth } from '../format.ts';
import { chartSeries, TABLE_PAGE } from '../series.ts';
import { DataTable, type Column } from './DataTable.tsx';
import { MoreButton } from './MoreButton.tsx';
import { usePaging } from './use-paging.ts';

type Month = CurrencyAnalysis['monthly'][number];

const GRAIN_WORDS = { month: 'month', year: 'year', years: 'span of years' } as const;

export function MonthlyChart({ monthly, currency }: { monthly: Month[]; currency: string | null }) {
  const { bars, grain } = useMemo(() => chartSeries(monthly, formatMonth), [monthly]);
  const [tableOpen, setTableOpen] = useState(false);
  const best = bars.reduce<(typeof bars)[number] | undefined>(
    (b, m) => (!b || m.revenue > b.revenue ? m : b),
    undefined,
  );
  const summary = best
    ? `Revenue by ${GRAIN_WORDS[grain]}, ${formatMonth(monthly[0]!.month)} to ${formatMonth(monthly.at(-1)!.month)}; ` +
      `highest ${formatMoney(best.revenue, currency)} in ${best.label}.`
    : 'No months.';
  return (
    <>
      {grain !== 'month' && (
        <p className="muted small" data-testid="chart-grain">
          {formatCount(monthly.length)} months are too many to draw one bar each: each bar is{' '}
          {grain === 'year' ? 'a year' : 'a span of years'}. The table below has every month.
        </p>
      )}
      <div className="chart" role="img" aria-label={summary} data-testid="monthly-chart">
        <ResponsiveContainer width="100%" height={280}>
          <BarChart data={bars} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid vertical={false} stroke="var(--line)" />
            <XAxis
              dataKey="label"
              tick={{ fill: 'var(--muted)', fontSize: 12 }}
              tickLine={false}
              axisLine={{ stroke: 'var(--line)' }}
              minTickGap={16}
            />
            <YAxis
              tickFormatter={(v: number) => formatCompact(v)}
              tick={{ fill: 'var(--muted)', fontSize: 12 }}
              tickLine={false}
              axisLine={false}
              width={56}
            />
            <Tooltip
              cursor={{ fill: 'var(--hover)' }}
              contentStyle={{ background: 'var(--card)', border: '1px solid var(--line)', borderRadius: 8 }}
              labelFormatter={(label) => (typeof label === 'string' ? label : '')}
              formatter={(v) => [formatMoney(Number(v), currency), 'Revenue']}
            />
            <Bar dataKey="revenue" radius={[3, 3, 0, 0]} isAnimationActive={false}>
              {bars.map((b) => (
                <Cell key={b.key} fill={b.revenue < 0 ? 'var(--negative)' : 'var(--accent)'} />
              ))}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <details onToggle={(e) => setTableOpen(e.currentTarget.open)}>
        <summary>Show as a table</summary>
        {/* Rendered only while open, a page at a time: a closed table costs no DOM at all. */}
        {tableOpen && <MonthTable monthly={monthly} currency={currency} />}
      </details>
    </>
  );
}

/** The month table's columns (the first is each row's own header). */
const MONTH_COLUMNS: Column[] = [
  { label: 'Month' },
  { label: 'Revenue', numeric: true },
  { label: 'Orders', numeric: true },
  { label: 'Customers', numeric: true },
  { label: 'New', numeric: true },
  { label: 'Growth', numeric: true },
];

function MonthTable({ monthly, currency }: { monthly: Month[]; currency: string | null }) {
  const paging = usePaging(monthly, TABLE_PAGE);
  return (
    <>
      <DataTable columns={MONTH_COLUMNS} testId="month-table">
        {paging.rows.map((m) => (
          <tr key={m.month}>
            <th scope="row">{formatMonth(m.month)}</th>
            <td className="num">{formatMoney(m.revenue, currency)}</td>
            <td className="num">{formatCount(m.transactions)}</td>
            <td className="num">{m.customers === null ? '—' : formatCount(m.customers)}</td>
            <td className="num">{m.newCustomers === null ? '—' : formatCount(m.newCustomers)}</td>
            <td className="num">
              {m.growthPct === null ? '—' : `${m.growthPct > 0 ? '+' : ''}${m.growthPct} %`}
            </td>
          </tr>
        ))}
      </DataTable>
      <MoreButton paging={paging} unit="months" />
    </>
  );
}
