import { useState, type FormEvent } from 'react';
import { toTallyApiError, type TallyApiError } from '../../../client/index.ts';
import { formatFromReading, fromOptions, toOptions, type FileReading, type Format } from '../mapping.ts';
import { linkHandler } from '../routing.ts';
import { recalled, rememberFile, rememberRerun } from '../session-files.ts';
import { useTally } from '../tally.ts';
import { MappingFields } from './MappingFields.tsx';
import { useHeaderNames } from './use-header-names.ts';

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

export function RerunForm({ jobId, filename, reading, navigate }: RerunFormProps) {
  const { client, onUnauthorized } = useTally();
  const [format, setFormat] = useState<Format>(() => {
    const previous = recalled(jobId)?.options;
    return reading ? formatFromReading(reading, previous) : fromOptions(previous);
  });
  const [file, setFile] = useState(() => recalled(jobId)?.file);
  const headers = useHeaderNames(file, format);
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<{ message: string; expired: boolean }>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (submitting) return;
    setSubmitting(true);
    setError(undefined);
    const options = toOptions(format);
    try {
      const created = await client.trpc.jobs.rerun.mutate({ jobId, options });
      rememberRerun(created.jobId, jobId, options);
      navigate(`/jobs/${created.jobId}`);
    } catch (e) {
      const refused = toTallyApiError(e);
      if (refused.status === 401) onUnauthorized();
      setError(explain(refused));
      setSubmitting(false);
    }
  };

  const pickAgain = (picked: File | undefined) => {
    if (!picked) return;
    rememberFile(jobId, picked);
    setFile(picked);
  };

  return (
    <form className="rerun" onSubmit={(e) => void submit(e)} data-testid="rerun-form">
      <p className="muted small">
        Tally analyses the copy of “{filename}” it already has: nothing is uploaded again. This job stays as
        it is; the re-run is a new job.
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
            To choose from the file’s own columns, pick “{filename}” on this device (it is only read here)
          </span>
          <input
            type="file"
            accept=".csv,.tsv,.txt,.gz,text/csv,application/gzip"
            onChange={(e) => pickAgain(e.target.files?.[0])}
            data-testid="rerun-file-input"
          />
        </label>
      )}
      {error && (
        <div className="callout callout--error" role="alert" data-testid="rerun-error">
          <p>{error.message}</p>
          {error.expired && (
            <p>
              <a href="/" onClick={linkHandler(navigate, '/')}>
                Upload the file again
              </a>
            </p>
          )}
        </div>
      )}
      <div className="actions">
        <button type="submit" className="button button--primary" disabled={submitting}>
          {submitting ? 'Starting the re-run…' : 'Re-run with these settings'}
        </button>
      </div>
    </form>
  );
}

/** The refusal in the page's words. */
function explain(error: TallyApiError): { message: string; expired: boolean } {
  if (error.code === 'FILE_EXPIRED' || error.status === 410) {
    return {
      message:
        'Tally no longer has this file: uploaded files are deleted some time after their job ends. ' +
        'Upload it again with these settings.',
      expired: true,
    };
  }
  if (error.status === 404)
    return { message: 'This job no longer exists, or it is not yours.', expired: false };
  if (error.status === 400) {
    return { message: `Tally cannot use these settings: ${error.message}`, expired: false };
  }
  return { message: `The re-run could not be started: ${error.message}`, expired: false };
}
