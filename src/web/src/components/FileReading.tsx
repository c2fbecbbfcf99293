import { useId, useState } from 'react';
import {
  DELIMITER_NAMES,
  describeDateOrder,
  describeEncoding,
  ROLES,
  type FileReading as Reading,
} from '../mapping.ts';
import { RerunForm, type RerunFormProps } from './RerunForm.tsx';

/**
 * How the file was read — delimiter, encoding, date order, which column played which role —
 * next to the result, with "Change and re-run" for when one of them is wrong. Takes the
 * re-run form's props, with the reading a completed job always has.
 */
export function FileReading(props: RerunFormProps & { reading: Reading }) {
  const { reading } = props;
  const id = useId();
  const [open, setOpen] = useState(false);
  const encoding = describeEncoding(reading.encoding);
  const dateOrder = describeDateOrder(reading.dateFormat);
  const columns = ROLES.filter(({ role }) => reading.columns[role] !== undefined);

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
        {columns.map(({ role, label }) => (
          <Fact key={role} label={label} value={`“${reading.columns[role]}”`} testId={`column-${role}`} />
        ))}
      </dl>
      {open && (
        <div id={`${id}-form`}>
          <RerunForm {...props} />
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
