import { useEffect, useId, useRef, useState, type DragEvent, type FormEvent } from 'react';
import { TallyApiError, type UploadOptions, type UploadProgress } from '../../../client/index.ts';
import { formatBytes } from '../format.ts';
import { useTally } from '../tally.ts';
import { readHeaderNames } from './csv-head.ts';
import { ProgressBar } from './ProgressBar.tsx';

type Delimiter = NonNullable<UploadOptions['delimiter']>;
type Columns = NonNullable<UploadOptions['columns']>;
type Role = keyof Columns;

const ROLES: { role: Role; label: string }[] = [
  { role: 'date', label: 'Date' },
  { role: 'amount', label: 'Amount' },
  { role: 'customer', label: 'Customer' },
  { role: 'product', label: 'Product' },
  { role: 'region', label: 'Region' },
  { role: 'currency', label: 'Currency' },
  { role: 'quantity', label: 'Quantity' },
  { role: 'unitPrice', label: 'Unit price' },
];

const DELIMITERS: { value: Delimiter; label: string }[] = [
  { value: ',', label: 'Comma ( , )' },
  { value: ';', label: 'Semicolon ( ; )' },
  { value: '\t', label: 'Tab' },
  { value: '|', label: 'Pipe ( | )' },
];

interface Format {
  delimiter: Delimiter | '';
  decimalSeparator: '.' | ',' | '';
  dateFormat: 'YMD' | 'MDY' | 'DMY' | '';
  currency: string;
  columns: Partial<Record<Role, string>>;
}

const EMPTY_FORMAT: Format = {
  delimiter: '',
  decimalSeparator: '',
  dateFormat: '',
  currency: '',
  columns: {},
};

function toOptions(format: Format): UploadOptions | undefined {
  const options: UploadOptions = {};
  if (format.delimiter) options.delimiter = format.delimiter;
  if (format.decimalSeparator) options.decimalSeparator = format.decimalSeparator;
  if (format.dateFormat) options.dateFormat = format.dateFormat;
  if (format.currency.trim()) options.currency = format.currency.trim().toUpperCase();
  const columns = Object.fromEntries(Object.entries(format.columns).filter(([, v]) => v)) as Columns;
  if (Object.keys(columns).length > 0) options.columns = columns;
  return Object.keys(options).length > 0 ? options : undefined;
}

/** Unique enough for an Idempotency-Key where crypto.randomUUID is missing (plain http). */
function newKey(): string {
  return (
    globalThis.crypto?.randomUUID?.() ?? `k-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
  );
}

export function UploadForm({ onUploaded }: { onUploaded: (jobId: string) => void }) {
  const { client, onUnauthorized } = useTally();
  const id = useId();
  const [file, setFile] = useState<File>();
  const [idempotencyKey, setIdempotencyKey] = useState('');
  const [dragging, setDragging] = useState(false);
  const [format, setFormat] = useState<Format>(EMPTY_FORMAT);
  const [headers, setHeaders] = useState<string[]>([]);
  const [progress, setProgress] = useState<UploadProgress>();
  const [uploading, setUploading] = useState(false);
  const [error, setError] = useState<string>();
  const abortRef = useRef<AbortController | null>(null);

  useEffect(() => () => abortRef.current?.abort(), []);

  useEffect(() => {
    if (!file) return undefined;
    let current = true;
    readHeaderNames(file, format.delimiter || undefined).then(
      (names) => current && setHeaders(names),
      () => current && setHeaders([]),
    );
    return () => {
      current = false;
    };
  }, [file, format.delimiter]);

  const choose = (chosen: File | undefined) => {
    if (!chosen || uploading) return;
    setFile(chosen);
    setIdempotencyKey(newKey()); // one key per chosen file: a double submit makes one job
    setFormat((f) => ({ ...f, columns: {} }));
    setError(undefined);
    setProgress(undefined);
  };

  const onDrop = (event: DragEvent<HTMLLabelElement>) => {
    event.preventDefault();
    setDragging(false);
    choose(event.dataTransfer.files[0]);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file || uploading) return;
    const controller = new AbortController();
    abortRef.current = controller;
    setUploading(true);
    setError(undefined);
    setProgress({ loaded: 0, total: file.size, percent: 0 });
    try {
      const options = toOptions(format);
      const { jobId } = await client.uploadCsv(file, {
        ...(options ? { options } : {}),
        idempotencyKey,
        onUploadProgress: setProgress,
        signal: controller.signal,
      });
      onUploaded(jobId);
    } catch (e) {
      if (controller.signal.aborted) {
        setError('Upload cancelled.');
      } else if (e instanceof TallyApiError) {
        if (e.status === 401) onUnauthorized();
        setError(e.message);
        setIdempotencyKey(newKey()); // a refused upload made no job: the next try is new
      } else {
        setError(e instanceof Error ? e.message : String(e));
      }
    } finally {
      abortRef.current = null;
      setUploading(false);
    }
  };

  const setColumn = (role: Role, value: string) =>
    setFormat((f) => ({ ...f, columns: { ...f.columns, [role]: value } }));

  return (
    <form className="card upload" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>Analyse a revenue export</h1>
      <p className="muted">
        A CSV (or gzipped CSV) with a date and an amount per row, from Stripe, Shopify, your ERP or a
        spreadsheet. Columns and formats are detected; adjust them below if needed.
      </p>

      <label
        className={`dropzone${dragging ? ' dropzone--active' : ''}${file ? ' dropzone--chosen' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <input
          className="visually-hidden"
          type="file"
          name="file"
          accept=".csv,.tsv,.txt,.gz,text/csv,application/gzip"
          disabled={uploading}
          onChange={(e) => choose(e.target.files?.[0])}
          data-testid="file-input"
        />
        {file ? (
          <>
            <strong className="dropzone__title">{file.name}</strong>
            <span className="muted">
              {formatBytes(file.size)} · choose or drop another file to replace it
            </span>
          </>
        ) : (
          <>
            <strong className="dropzone__title">Drop a CSV file here</strong>
            <span className="muted">or press to choose one</span>
          </>
        )}
      </label>

      <details className="format-options">
        <summary>Column mapping and format options</summary>
        <div className="options-grid">
          <Select
            label="Delimiter"
            value={format.delimiter}
            onChange={(v) => setFormat((f) => ({ ...f, delimiter: v as Format['delimiter'] }))}
            options={DELIMITERS}
          />
          <Select
            label="Decimal separator"
            value={format.decimalSeparator}
            onChange={(v) => setFormat((f) => ({ ...f, decimalSeparator: v as Format['decimalSeparator'] }))}
            options={[
              { value: '.', label: 'Point (1234.50)' },
              { value: ',', label: 'Comma (1234,50)' },
            ]}
          />
          <Select
            label="Date format"
            value={format.dateFormat}
            onChange={(v) => setFormat((f) => ({ ...f, dateFormat: v as Format['dateFormat'] }))}
            options={[
              { value: 'YMD', label: 'Year-month-day' },
              { value: 'MDY', label: 'Month/day/year' },
              { value: 'DMY', label: 'Day/month/year' },
            ]}
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
              onChange={(e) => setFormat((f) => ({ ...f, currency: e.target.value }))}
            />
          </label>
        </div>
        <fieldset className="columns">
          <legend>Columns {headers.length === 0 && file ? '(type the header names)' : ''}</legend>
          <div className="options-grid">
            {ROLES.map(({ role, label }) =>
              headers.length > 0 ? (
                <Select
                  key={role}
                  label={label}
                  value={format.columns[role] ?? ''}
                  onChange={(v) => setColumn(role, v)}
                  options={headers.map((h) => ({ value: h, label: h }))}
                />
              ) : (
                <label className="field" key={role}>
                  <span>{label}</span>
                  <input
                    type="text"
                    placeholder="Detect"
                    value={format.columns[role] ?? ''}
                    onChange={(e) => setColumn(role, e.target.value)}
                  />
                </label>
              ),
            )}
          </div>
        </fieldset>
      </details>

      {progress && uploading && (
        <div className="stack-sm" aria-live="polite">
          <ProgressBar label="Upload progress" percent={progress.percent} testId="upload-progress" />
          <p className="muted small">
            Uploading… {formatBytes(progress.loaded)} of {formatBytes(progress.total)} ({progress.percent} %)
          </p>
        </div>
      )}
      {error && (
        <p className="callout callout--error" role="alert">
          {error}
        </p>
      )}

      <div className="actions">
        <button type="submit" className="button button--primary" disabled={!file || uploading}>
          {uploading ? 'Uploading…' : 'Analyse'}
        </button>
        {uploading && (
          <button type="button" className="button" onClick={() => abortRef.current?.abort()}>
            Cancel upload
          </button>
        )}
      </div>
    </form>
  );
}

function Select({
  label,
  value,
  onChange,
  options,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: { value: string; label: string }[];
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
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
