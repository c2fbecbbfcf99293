import { useState, type FormEvent } from 'react';
import { formatFromReading, fromOptions, toOptions, type FileReading, type Format } from '../mapping.ts';
import { recalled, rememberFile } from '../session-files.ts';
import { MappingFields } from './MappingFields.tsx';
import { RerunError } from './RerunError.tsx';
import { useHeaderNames } from './use-header-names.ts';
import { useRerun } from './use-rerun.ts';

/**
 * "Change and re-run": the job's stored file analysed again with other options
 * (jobs.rerun), without uploading it again; then the page watches the new job.
 *
 * Starts from what the job used (a completed job's `input`, or the options this tab sent),
 * so a re-run changes only what the user changes. The file's own header names come from
 * the file this tab uploaded, read again in the browser; after a reload the user may pick
 * the file again to list them (it is only read, not sent), or type the names.
 */
export interface RerunFormProps {
  jobId: string;
  filename: string;
  /** How a completed run read the file; undefined for a failed job. */
  reading?: FileReading | undefined;
  navigate: (path: string) => void;
}

/** The form's settings, held by the parent when it shows other controls of the same re-run. */
interface Controlled {
  format: Format;
  onFormatChange: (update: (f: Format) => Format) => void;
}

export function RerunForm(props: RerunFormProps & Partial<Controlled>) {
  const { jobId, reading } = props;
  const [own, setOwn] = useState<Format>(() => initialFormat(jobId, reading));
  const format = props.format ?? own;
  const setFormat = props.onFormatChange ?? setOwn;
  const [file, setFile] = useState(() => recalled(jobId)?.file);
  const headers = useHeaderNames(file, format);
  const { start, submitting, error } = useRerun(jobId, props.navigate);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void start(toOptions(format));
  };

  const pickAgain = (picked: File | undefined) => {
    if (!picked) return;
    rememberFile(jobId, picked);
    setFile(picked);
  };

  return (
    <form className="rerun" onSubmit={submit} data-testid="rerun-form">
      <p className="muted small">
        Tally analyses the copy of “{props.filename}” it already has: nothing is uploaded again. This job
        stays as it is; the re-run is a new job.
      </p>
      <MappingFields
        format={format}
        onChange={setFormat}
        headers={headers}
        suggestions={reading ? Object.values(reading.columns) : []}
        disabled={submitting}
      />
      {headers.length === 0 && (
        <label className="field rerun__pick">
          <span>
            To choose from the file’s own columns, pick “{props.filename}” on this device (it is only read
            here)
          </span>
          <input
            type="file"
            accept=".csv,.tsv,.txt,.gz,text/csv,application/gzip"
            onChange={(e) => pickAgain(e.target.files?.[0])}
            data-testid="rerun-file-input"
          />
        </label>
      )}
      {error && <RerunError error={error} navigate={props.navigate} />}
      <div className="actions">
        <button type="submit" className="button button--primary" disabled={submitting}>
          {submitting ? 'Starting the re-run…' : 'Re-run with these settings'}
        </button>
      </div>
    </form>
  );
}

/** What the job used: its reading (completed) or the options this tab sent (failed). */
export function initialFormat(jobId: string, reading: FileReading | undefined): Format {
  const previous = recalled(jobId)?.options;
  return reading ? formatFromReading(reading, previous) : fromOptions(previous);
}
