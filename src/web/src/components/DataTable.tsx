import type { ReactNode } from 'react';

export interface Column {
  label: ReactNode;
  /** Right-aligned figures (`num`). */
  numeric?: boolean;
}

/** The page's table markup: a scrolling wrapper, one header row of `columns`, then the rows given. */
export function DataTable({
  columns,
  className = 'table',
  testId,
  children,
}: {
  columns: Column[];
  className?: string;
  testId?: string;
  /** The body's rows (`<tr>` each). */
  children: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table className={className} data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col" className={c.numeric ? 'num' : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
