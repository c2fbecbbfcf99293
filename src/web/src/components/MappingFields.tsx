import { useId } from 'react';
import { DATE_ORDERS, DELIMITERS, ENCODINGS, ROLES, type Format, type Role } from '../mapping.ts';

/**
 * The column mapping and format fields, shared by the upload form and the re-run form.
 * With `headers` (the file's own header row, read in the browser) each role is a select of
 * those names; without, a text field suggesting the names known so far.
 */
export function MappingFields({
  format,
  onChange,
  headers,
  suggestions = [],
  highlight,
  disabled = false,
}: {
  format: Format;
  onChange: (update: (f: Format) => Format) => void;
  headers: string[];
  /** Names offered when the headers are unknown (e.g. the columns a completed run used). */
  suggestions?: string[];
  /** A role the server could not find: marked `aria-invalid` (the parent focuses it). */
  highlight?: Role | undefined;
  disabled?: boolean;
}) {
  const listId = useId();
  const setColumn = (role: Role, value: string) =>
    onChange((f) => ({ ...f, columns: { ...f.columns, [role]: value } }));
  const encodings =
    format.encoding && !ENCODINGS.some((e) => e.value === format.encoding)
      ? [...ENCODINGS, { value: format.encoding, label: format.encoding }]
      : ENCODINGS;
  const known = [...new Set([...headers, ...suggestions])];

  return (
    <fieldset className="mapping" disabled={disabled}>
      <div className="options-grid">
        <Select
          label="Delimiter"
          value={format.delimiter}
          onChange={(v) => onChange((f) => ({ ...f, delimiter: v as Format['delimiter'] }))}
          options={DELIMITERS}
        />
        <Select
          label="Decimal separator"
          value={format.decimalSeparator}
          onChange={(v) => onChange((f) => ({ ...f, decimalSeparator: v as Format['decimalSeparator'] }))}
          options={[
            { value: '.', label: 'Point (1234.50)' },
            { value: ',', label: 'Comma (1234,50)' },
          ]}
        />
        <Select
          label="Date format"
          value={format.dateFormat}
          onChange={(v) => onChange((f) => ({ ...f, dateFormat: v as Format['dateFormat'] }))}
          options={DATE_ORDERS}
        />
        <Select
          label="Encoding"
          value={format.encoding}
          onChange={(v) => onChange((f) => ({ ...f, encoding: v }))}
          options={encodings}
        />
        <label className="field">
          <span>Default currency</span>
          <input
            type="text"
            inputMode="text"
            autoCapitalize="characters"
            maxLength={3}
            pattern="[A-Za-z]{3}"
            title="A three-letter code such as USD or EUR"
            placeholder="e.g. USD"
            value={format.currency}
            onChange={(e) => onChange((f) => ({ ...f, currency: e.target.value }))}
          />
        </label>
      </div>
      <fieldset className="columns">
        <legend>Columns {headers.length === 0 ? '(type the header names)' : 'of your file'}</legend>
        <div className="options-grid">
          {ROLES.map(({ role, label }) => {
            const value = format.columns[role] ?? '';
            const marked = role === highlight;
            return headers.length > 0 ? (
              <Select
                key={role}
                label={label}
                value={value}
                onChange={(v) => setColumn(role, v)}
                // A name from an earlier run that this header row lacks stays choosable.
                options={(value && !headers.includes(value) ? [...headers, value] : headers).map((h) => ({
                  value: h,
                  label: h,
                }))}
                invalid={marked}
              />
            ) : (
              <label className={`field${marked ? ' field--invalid' : ''}`} key={role}>
                <span>{label}</span>
                <input
                  type="text"
                  placeholder="Detect"
                  list={known.length > 0 ? listId : undefined}
                  value={value}
                  aria-invalid={marked || undefined}
                  onChange={(e) => setColumn(role, e.target.value)}
                />
              </label>
            );
          })}
        </div>
        {headers.length === 0 && known.length > 0 && (
          <datalist id={listId}>
            {known.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        )}
      </fieldset>
    </fieldset>
  );
}

function Select({
  label,
  value,
  onChange,
  options,
  invalid = false,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: { value: string; label: string }[];
  invalid?: boolean;
}) {
  const id = useId();
  return (
    <div className={`field${invalid ? ' field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={invalid || undefined}
      >
        <option value="">Detect</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}
