import { useId, useState } from 'react';
import type { Ranked } from '../../../client/index.ts';
import { formatCount, formatMoney, formatShare } from '../format.ts';

const FIRST = 10;

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
  const [all, setAll] = useState(false);
  const shown = all ? rows : rows.slice(0, FIRST);
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Revenue
              </th>
              <th scope="col" className="num">
                Orders
              </th>
              <th scope="col" className="num">
                Share
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
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
          </tbody>
        </table>
      </div>
      {rows.length > FIRST && (
        <button
          type="button"
          className="button button--link"
          onClick={() => setAll(!all)}
          aria-expanded={all}
        >
          {all ? `Show top ${FIRST}` : `Show all ${rows.length}`}
        </button>
      )}
    </section>
  );
}
