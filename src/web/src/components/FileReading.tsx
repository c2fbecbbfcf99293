import { useId, useState } from 'react';
import { classificationChanged } from '../exclusions.ts';
import {
  DELIMITER_NAMES,
  describeDateOrder,
  describeEncoding,
  ROLES,
  toOptions,
  type FileReading as Reading,
  type Format,
} from '../mapping.ts';
import { RerunError } from './RerunError.tsx';
import { initialFormat, RerunForm, type RerunFormProps } from './RerunForm.tsx';
import { RowsNotSales } from './RowsNotSales.tsx';
import { useRerun } from './use-rerun.ts';

/**
 * How the file was read — delimiter, encoding, date order, time zone, which column played
 * which role, which rows were not sales and why — next to the result, with "Change and
 * re-run" for when one of them is wrong. The card holds the re-run's settings: the rows
 * controls and the mapping form edit the same ones, so either button re-runs with both.
 */
export function FileReading(props: RerunFormProps & { reading: Reading }) {
  const { reading, jobId, navigate } = props;
  const id = useId();
  const [open, setOpen] = useState(false);
  const [initial] = useState<Format>(() => initialFormat(jobId, reading));
  const [format, setFormat] = useState<Format>(initial);
  const { start, submitting, error } = useRerun(jobId, navigate);
  const encoding = describeEncoding(reading.encoding);
  const dateOrder = describeDateOrder(reading.dateFormat);
  const columns = ROLES.filter(({ role }) => reading.columns[role] !== undefined);
  const changed = classificationChanged(format, initial);

  return (
    <section className="card reading" aria-labelledby={`${id}-title`} data-testid="file-reading">
      <div className="reading__head">
        <h2 id={`${id}-title`}>How the file was read</h2>
        <button
          type="button"
          className="button"
          aria-expanded={open}
          aria-controls={`${id}-form`}
          onClick={() => setOpen(!open)}
        >
          {open ? 'Close' : 'Change and re-run'}
        </button>
      </div>
      <dl className="reading__facts">
        <Fact
          label="Delimiter"
          value={DELIMITER_NAMES[reading.delimiter] ?? reading.delimiter}
          testId="delimiter"
        />
        {encoding !== undefined && <Fact label="Encoding" value={encoding} testId="encoding" />}
        {dateOrder !== undefined && <Fact label="Date order" value={dateOrder} testId="date-order" />}
        {reading.timeZone !== undefined && (
          <Fact label="Time zone" value={reading.timeZone ?? 'As written'} testId="time-zone" />
        )}
        {columns.map(({ role, label }) => (
          <Fact key={role} label={label} value={`“${reading.columns[role]}”`} testId={`column-${role}`} />
        ))}
      </dl>
      <RowsNotSales
        excluded={reading.excluded ?? 0}
        exclusions={reading.exclusions ?? []}
        categories={reading.categories ?? []}
        format={format}
        ran={initial.exclude}
        onChange={setFormat}
        disabled={submitting}
      />
      {changed && !open && (
        <div className="callout not-sales__rerun" role="status" data-testid="rows-rerun">
          <p>These changes take a re-run of the file Tally already has (nothing is uploaded again).</p>
          <div className="actions">
            <button
              type="button"
              className="button button--primary"
              disabled={submitting}
              onClick={() => void start(toOptions(format))}
            >
              {submitting ? 'Starting the re-run…' : 'Re-run with these settings'}
            </button>
            <button type="button" className="button" disabled={submitting} onClick={() => setFormat(initial)}>
              Undo changes
            </button>
          </div>
        </div>
      )}
      {error && !open && <RerunError error={error} navigate={navigate} />}
      {open && (
        <div id={`${id}-form`}>
          <RerunForm {...props} format={format} onFormatChange={setFormat} />
        </div>
      )}
    </section>
  );
}

function Fact({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="reading__fact">
      <dt>{label}</dt>
      <dd data-testid={`reading-${testId}`}>{value}</dd>
    </div>
  );
}
