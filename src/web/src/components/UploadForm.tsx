import { useEffect, useId, useRef, useState, type DragEvent, type FormEvent } from 'react';
import { TallyApiError, type UploadProgress } from '../../../client/index.ts';
import { formatBytes } from '../../../lib/format-bytes.ts';
import { classifyRefusal, EMPTY_FORMAT, ROLES, toOptions, type Format, type Role } from '../mapping.ts';
import { rememberUpload } from '../session-files.ts';
import { useTally } from '../tally.ts';
import { MappingFields } from './MappingFields.tsx';
import { useHeaderNames } from './use-header-names.ts';
import { ProgressBar } from './ProgressBar.tsx';

/** A refusal the page explains itself: which column to choose, in the page's words. */
interface MappingRequest {
  role: Role;
  message: string;
}

/** Unique enough for an Idempotency-Key where crypto.randomUUID is missing (plain http). */
function newKey(): string {
  return (
    globalThis.crypto?.randomUUID?.() ?? `k-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
  );
}

const roleLabel = (role: Role) => ROLES.find((r) => r.role === role)?.label ?? role;

/**
 * Turns the server's refusal into the page's own request, or undefined when it is not
 * about columns (then the server's message is shown as it is).
 */
function mappingRequest(
  message: string,
  fileName: string,
  headers: string[],
  format: Format,
): MappingRequest | undefined {
  const refusal = classifyRefusal(message);
  if (refusal.kind === 'other') return undefined;
  const where = headers.length > 0 ? 'from your file’s own columns below' : 'by typing its header name below';
  if (refusal.kind === 'unknown-column') {
    const label = roleLabel(refusal.role);
    const chosen = format.columns[refusal.role];
    return {
      role: refusal.role,
      message: `${chosen ? `“${chosen}” is not a column of “${fileName}”. ` : ''}Choose the ${label.toLowerCase()} column ${where}, then press Analyse again.`,
    };
  }
  const what = refusal.role === 'date' ? 'the date of each sale' : 'the amount of each sale';
  return {
    role: refusal.role,
    message: `Tally couldn’t tell which column of “${fileName}” holds ${what}. Choose it under “${roleLabel(refusal.role)}” ${where}, then press Analyse again.`,
  };
}

export function UploadForm({ onUploaded }: { onUploaded: (jobId: string) => void }) {
  const { client, onUnauthorized } = useTally();
  const id = useId();
  const [file, setFile] = useState<File>();
  const [idempotencyKey, setIdempotencyKey] = useState('');
  const [dragging, setDragging] = useState(false);
  const [format, setFormat] = useState<Format>(EMPTY_FORMAT);
  const headers = useHeaderNames(file, format);
  const [progress, setProgress] = useState<UploadProgress>();
  const [uploading, setUploading] = useState(false);
  const [error, setError] = useState<string>();
  const [mappingOpen, setMappingOpen] = useState(false);
  const [request, setRequest] = useState<MappingRequest>();
  const abortRef = useRef<AbortController | null>(null);
  const mappingRef = useRef<HTMLDetailsElement>(null);

  useEffect(() => () => abortRef.current?.abort(), []);

  // A refusal about columns opens the mapping and puts the focus on the field to choose.
  useEffect(() => {
    if (!request) return;
    const field = mappingRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    field?.focus();
    field?.scrollIntoView({ block: 'center' });
  }, [request]);

  const choose = (chosen: File | undefined) => {
    if (!chosen || uploading) return;
    setFile(chosen);
    setIdempotencyKey(newKey()); // one key per chosen file: a double submit makes one job
    setFormat((f) => ({ ...f, columns: {} }));
    setError(undefined);
    setRequest(undefined);
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
    setRequest(undefined);
    setProgress({ loaded: 0, total: file.size, percent: 0 });
    const options = toOptions(format);
    try {
      const { jobId } = await client.uploadCsv(file, {
        ...(Object.keys(options).length > 0 ? { options } : {}),
        idempotencyKey,
        // Files over the client's threshold (8 MiB) go through /api/uploads: a dropped
        // connection resumes from the server's offset instead of starting again.
        resumable: true,
        onUploadProgress: setProgress,
        signal: controller.signal,
      });
      rememberUpload(jobId, file, options);
      onUploaded(jobId);
    } catch (e) {
      if (controller.signal.aborted) {
        setError('Upload cancelled.');
      } else if (e instanceof TallyApiError) {
        if (e.status === 401) onUnauthorized();
        const asked = e.status === 422 ? mappingRequest(e.message, file.name, headers, format) : undefined;
        if (asked) {
          setRequest(asked);
          setMappingOpen(true);
        } else {
          setError(e.message);
        }
        setIdempotencyKey(newKey()); // a refused upload made no job: the next try is new
      } else {
        setError(e instanceof Error ? e.message : String(e));
      }
    } finally {
      abortRef.current = null;
      setUploading(false);
    }
  };

  const highlight = request && !format.columns[request.role] ? request.role : undefined;

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

      {request && (
        <div className="callout callout--warning" role="alert" data-testid="mapping-request">
          <p>
            <strong>One more step.</strong> {request.message}
          </p>
        </div>
      )}

      <details
        className="format-options"
        open={mappingOpen}
        onToggle={(e) => setMappingOpen(e.currentTarget.open)}
        ref={mappingRef}
      >
        <summary>Column mapping and format options</summary>
        <MappingFields format={format} onChange={setFormat} headers={headers} highlight={highlight} />
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
