import type { CurrencyAnalysis } from '../../../client/index.ts';
import { formatCount, formatMonth } from '../format.ts';
import { TABLE_PAGE } from '../series.ts';
import { DataTable, type Column } from './DataTable.tsx';
import { MoreButton } from './MoreButton.tsx';
import { usePaging } from './use-paging.ts';

type Cohort = NonNullable<CurrencyAnalysis['cohorts']>[number];

const MAX_MONTHS = 13; // month 0 plus a year: wider tables scroll but stop being readable

export function CohortTable({ cohorts }: { cohorts: Cohort[] }) {
  // A page of cohorts at a time: one per first-purchase month can mean thousands of rows.
  const paging = usePaging(cohorts, TABLE_PAGE);
  // A loop, not Math.max(...spread): a spread of 100k arguments overflows the stack.
  let longest = 0;
  for (const c of cohorts) longest = Math.max(longest, c.retention.length);
  const width = Math.min(MAX_MONTHS, longest);
  const months = Array.from({ length: width }, (_, k) => k);
  const columns: Column[] = [
    { label: 'Cohort' },
    { label: 'Customers', numeric: true },
    ...months.map((k) => ({ label: k === 0 ? 'M0' : `+${k}`, numeric: true })),
  ];
  return (
    <>
      <DataTable columns={columns} className="table cohorts" testId="cohorts">
        {paging.rows.map((c) => (
          <tr key={c.cohort}>
            <th scope="row">{formatMonth(c.cohort)}</th>
            <td className="num">{formatCount(c.customers)}</td>
            {months.map((k) => {
              const value = c.retention[k];
              return value === undefined ? (
                <td key={k} />
              ) : (
                <td
                  key={k}
                  className="num heat"
                  style={{ ['--heat' as string]: String(value) }}
                  title={`${(value * 100).toFixed(1)} % of the ${c.cohort} cohort bought in month ${k}`}
                >
                  {Math.round(value * 100)}%
                </td>
              );
            })}
          </tr>
        ))}
      </DataTable>
      <MoreButton paging={paging} unit="cohorts" />
    </>
  );
}
