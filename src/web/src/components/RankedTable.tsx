import { useId } from 'react';
import type { Ranked } from '../../../client/index.ts';
import { formatCount, formatMoney, formatShare } from '../format.ts';
import { DataTable, type Column } from './DataTable.tsx';
import { usePaging } from './use-paging.ts';

const FIRST = 10;

const COLUMNS: Column[] = [
  { label: 'Name' },
  { label: 'Revenue', numeric: true },
  { label: 'Orders', numeric: true },
  { label: 'Share', numeric: true },
];

export function RankedTable({
  title,
  rows,
  currency,
}: {
  title: string;
  rows: Ranked[];
  currency: string | null;
}) {
  const id = useId();
  const paging = usePaging(rows, FIRST);
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <DataTable columns={COLUMNS}>
        {paging.rows.map((r) => (
          <tr key={r.key}>
            <th scope="row" className="key">
              {r.key}
            </th>
            <td className="num">{formatMoney(r.revenue, currency)}</td>
            <td className="num">{formatCount(r.transactions)}</td>
            <td
              className="num share"
              style={{ ['--share' as string]: `${Math.max(0, Math.min(1, r.share)) * 100}%` }}
            >
              {formatShare(r.share)}
            </td>
          </tr>
        ))}
      </DataTable>
      {rows.length > FIRST && (
        <button
          type="button"
          className="button button--link"
          onClick={paging.toggleAll}
          aria-expanded={paging.all}
        >
          {paging.all ? `Show top ${FIRST}` : `Show all ${rows.length}`}
        </button>
      )}
    </section>
  );
}
