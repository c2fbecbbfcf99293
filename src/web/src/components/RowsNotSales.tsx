import { useId } from 'react';
import { counts, describeReason, exclusionNote, setCounted, timeZones } from '../exclusions.ts';
import { formatCount } from '../format.ts';
import type { Category, Exclusion, Format } from '../mapping.ts';

const TREATED_AS: Record<Category['values'][number]['treatedAs'], string> = {
  sale: 'Sale',
  refund: 'Refund',
  excluded: 'Left out',
};

const ROLE_LABEL: Record<Category['role'], string> = { status: 'Status', type: 'Type' };

/**
 * Rows that are not sales (docs/reference.md, "Rows that are not sales"), inside "How the file was read": why rows were
 * left out (with counts), each status and type value with how it was read, a checkbox per
 * value to count it or leave it out, the switch for the automatic rules, and the time zone.
 * Edits the re-run's `format`; the parent starts the re-run. Closed by default: its summary
 * line is the note itself.
 */
export function RowsNotSales({
  excluded,
  exclusions,
  categories,
  format,
  ran,
  onChange,
  disabled,
}: {
  excluded: number;
  exclusions: readonly Exclusion[];
  categories: readonly Category[];
  format: Format;
  /** The `options.exclude` the shown result was computed with. */
  ran: Format['exclude'];
  onChange: (update: (f: Format) => Format) => void;
  disabled: boolean;
}) {
  const id = useId();
  const summary = exclusionNote(excluded, exclusions) ?? 'Every row was read as a sale or a refund.';
  return (
    <details className="not-sales" data-testid="rows-not-sales">
      <summary>
        <span id={`${id}-title`} className="not-sales__title">
          Which rows count, and dates
        </span>
        <span className="muted small" data-testid="rows-not-sales-summary">
          {summary}
        </span>
      </summary>
      <fieldset className="not-sales__body" disabled={disabled} aria-labelledby={`${id}-title`}>
        {exclusions.length > 0 && (
          <div className="table-wrap">
            <table className="table" data-testid="exclusions">
              <caption>Left out, and why</caption>
              <thead>
                <tr>
                  <th scope="col">Reason</th>
                  <th scope="col" className="num">
                    Rows
                  </th>
                  <th scope="col" className="num">
                    First line
                  </th>
                </tr>
              </thead>
              <tbody>
                {exclusions.map((e) => (
                  <tr key={e.reason}>
                    <td>{describeReason(e.reason)}</td>
                    <td className="num">{formatCount(e.rows)}</td>
                    <td className="num">{e.firstLine}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {categories.map((category) => (
          <CategoryTable
            key={`${category.role}:${category.column}`}
            category={category}
            categories={categories}
            format={format}
            ran={ran}
            onChange={onChange}
          />
        ))}
        {categories.length > 0 && (
          <label className="check">
            <input
              type="checkbox"
              checked={format.rowRules}
              onChange={(e) => onChange((f) => ({ ...f, rowRules: e.target.checked }))}
              data-testid="row-rules"
            />
            <span>
              Leave out what is not a sale by its status or type (failed, cancelled, payouts, fees…); turned
              off, only the values unticked above are left out
            </span>
          </label>
        )}
        <div className="field not-sales__zone">
          <label htmlFor={`${id}-zone`}>Time zone of dates with a zone</label>
          <select
            id={`${id}-zone`}
            value={format.timeZone}
            onChange={(e) => onChange((f) => ({ ...f, timeZone: e.target.value }))}
            aria-describedby={`${id}-zone-help`}
            data-testid="time-zone"
          >
            <option value="">As written in the file</option>
            {withCurrent(timeZones(), format.timeZone).map((zone) => (
              <option key={zone} value={zone}>
                {zone.replaceAll('_', ' ')}
              </option>
            ))}
          </select>
          <span id={`${id}-zone-help`} className="muted small">
            “2024-06-30 22:00 -0400” counts on 30 June as written; with a zone chosen, on that zone’s
            calendar.
          </span>
        </div>
      </fieldset>
    </details>
  );
}

function CategoryTable({
  category,
  categories,
  format,
  ran,
  onChange,
}: {
  category: Category;
  categories: readonly Category[];
  format: Format;
  ran: Format['exclude'];
  onChange: (update: (f: Format) => Format) => void;
}) {
  const { column, role } = category;
  return (
    <div className="table-wrap">
      <table className="table" data-testid={`category-${role}`}>
        <caption>
          {ROLE_LABEL[role]} values in “{column}”
        </caption>
        <thead>
          <tr>
            <th scope="col">Value</th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col">Read as</th>
            <th scope="col">Count</th>
          </tr>
        </thead>
        <tbody>
          {category.values.map((v) => {
            const now = counts(format, ran, column, v);
            const was = v.treatedAs !== 'excluded';
            return (
              <tr key={v.value}>
                <th scope="row" className="key">
                  {v.value === '' ? <span className="muted">(blank)</span> : v.value}
                </th>
                <td className="num">{formatCount(v.rows)}</td>
                <td>
                  {TREATED_AS[v.treatedAs]}
                  {now !== was && (
                    <strong className="not-sales__change">
                      {' '}
                      → {now ? 'will count' : 'will be left out'}
                    </strong>
                  )}
                </td>
                <td>
                  <input
                    type="checkbox"
                    checked={now}
                    aria-label={`Count rows whose ${column} is “${v.value}”`}
                    onChange={(e) =>
                      onChange((f) =>
                        setCounted(f, ran, categories, { column, value: v.value }, e.target.checked),
                      )
                    }
                  />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The zone list, with the current value kept choosable when this browser does not list it. */
function withCurrent(zones: string[], current: string): string[] {
  return current && !zones.includes(current) ? [current, ...zones] : zones;
}
