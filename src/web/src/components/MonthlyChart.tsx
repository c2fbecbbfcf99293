import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { CurrencyAnalysis } from '../../../client/index.ts';
import { formatCompact, formatCount, formatMoney, formatMonth } from '../format.ts';

type Month = CurrencyAnalysis['monthly'][number];

export function MonthlyChart({ monthly, currency }: { monthly: Month[]; currency: string | null }) {
  const best = monthly.reduce<Month | undefined>((b, m) => (!b || m.revenue > b.revenue ? m : b), undefined);
  const summary = best
    ? `Revenue by month, ${formatMonth(monthly[0]!.month)} to ${formatMonth(monthly.at(-1)!.month)}; ` +
      `highest ${formatMoney(best.revenue, currency)} in ${formatMonth(best.month)}.`
    : 'No months.';
  return (
    <>
      <div className="chart" role="img" aria-label={summary} data-testid="monthly-chart">
        <ResponsiveContainer width="100%" height={280}>
          <BarChart data={monthly} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid vertical={false} stroke="var(--line)" />
            <XAxis
              dataKey="month"
              tickFormatter={(m: string) => formatMonth(m)}
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
              labelFormatter={(m) => (typeof m === 'string' ? formatMonth(m) : '')}
              formatter={(v) => [formatMoney(Number(v), currency), 'Revenue']}
            />
            <Bar dataKey="revenue" radius={[3, 3, 0, 0]} isAnimationActive={false}>
              {monthly.map((m) => (
                <Cell key={m.month} fill={m.revenue < 0 ? 'var(--negative)' : 'var(--accent)'} />
              ))}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <details>
        <summary>Show as a table</summary>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Month</th>
                <th scope="col" className="num">
                  Revenue
                </th>
                <th scope="col" className="num">
                  Orders
                </th>
                <th scope="col" className="num">
                  Customers
                </th>
                <th scope="col" className="num">
                  New
                </th>
                <th scope="col" className="num">
                  Growth
                </th>
              </tr>
            </thead>
            <tbody>
              {monthly.map((m) => (
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
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}
