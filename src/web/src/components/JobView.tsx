import { useEffect, useRef, useState } from 'react';
import {
  JobFailedError,
  JobTimeoutError,
  TallyApiError,
  isFinal,
  toTallyApiError,
  type JobStatus,
  type RevenueAnalysis,
} from '../../../client/index.ts';
import { useJobStatus } from '../../../client/react.ts';
import { formatBytes } from '../../../lib/format-bytes.ts';
import { formatCount, formatDateTime, formatDuration } from '../format.ts';
import { readingOf } from '../mapping.ts';
import { linkHandler } from '../routing.ts';
import { recalled } from '../session-files.ts';
import { useTally } from '../tally.ts';
import { AnalysisView } from './AnalysisView.tsx';
import { FileReading } from './FileReading.tsx';
import { ProgressBar } from './ProgressBar.tsx';
import { RerunForm } from './RerunForm.tsx';
import { StateBadge } from './StateBadge.tsx';

/** Watches one job (mounted with `key={jobId}`: a new job starts from a clean slate). */
export function JobView({
  jobId,
  onSettled,
  navigate,
}: {
  jobId: string;
  onSettled: () => void;
  navigate: (path: string) => void;
}) {
  const { client, polling, onUnauthorized } = useTally();
  // Pushed over SSE (jobs.watch); the client long-polls where a stream cannot be held.
  const { status, error, isPolling, polls, restart } = useJobStatus(jobId, {
    client,
    ...polling,
    transport: 'watch',
  });
  const [analysis, setAnalysis] = useState<RevenueAnalysis>();
  const [resultError, setResultError] = useState<string>();
  const [cancelling, setCancelling] = useState(false);
  const completed = status?.state === 'completed';
  const rerunOf = recalled(jobId)?.rerunOf;

  useEffect(() => {
    if (!completed) return undefined;
    const controller = new AbortController();
    client.trpc.jobs.result
      .query({ jobId }, { signal: controller.signal })
      .then(setAnalysis, (e: unknown) => {
        if (!controller.signal.aborted) setResultError(toTallyApiError(e).message);
      });
    return () => controller.abort();
  }, [client, jobId, completed]);

  // Tell the page once the job is final, so the recent-jobs list shows its new state.
  const settled = status !== undefined && isFinal(status.state);
  const onSettledRef = useRef(onSettled);
  useEffect(() => {
    onSettledRef.current = onSettled;
  });
  useEffect(() => {
    if (settled) onSettledRef.current();
  }, [settled]);

  useEffect(() => {
    if (error instanceof TallyApiError && error.status === 401) onUnauthorized();
  }, [error, onUnauthorized]);

  const cancel = async () => {
    setCancelling(true);
    try {
      await client.trpc.jobs.cancel.mutate({ jobId });
    } catch {
      // the watch shows the outcome either way
    } finally {
      setCancelling(false);
    }
  };

  if (error instanceof TallyApiError && error.code === 'NOT_FOUND') {
    return (
      <section className="card">
        <h1>Job not found</h1>
        <p className="callout callout--error" role="alert">
          There is no job {jobId}, or it belongs to someone else.
        </p>
      </section>
    );
  }

  return (
    <div className="stack">
      <section className="card job" aria-labelledby="job-title" data-testid="job" data-state={status?.state}>
        <div className="job__head">
          <h1 id="job-title" className="job__title">
            {status ? status.filename : 'Loading job…'}
          </h1>
          {status && <StateBadge state={status.state} />}
        </div>
        {status && (
          <p className="muted small">
            {formatBytes(status.bytes)} · uploaded {formatDateTime(status.createdAt)}
            {status.attempts > 1 ? ` · attempt ${status.attempts}` : ''}
          </p>
        )}
        {rerunOf && (
          <p className="muted small" data-testid="rerun-of">
            A re-run of{' '}
            <a href={`/jobs/${rerunOf}`} onClick={linkHandler(navigate, `/jobs/${rerunOf}`)}>
              an earlier job
            </a>{' '}
            with other settings, on the same file.
          </p>
        )}

        {status && !settled && <Processing status={status} />}
        {!status && isPolling && <ProgressBar label="Loading the job" />}

        {error instanceof JobTimeoutError && (
          <div className="callout callout--warning" role="alert" data-testid="timeout">
            <p>
              <strong>Still not finished.</strong> We stopped checking after {polls} status{' '}
              {polls === 1 ? 'check' : 'checks'} ({formatDuration(error.elapsedMinutes * 60_000)}). The job
              may still be running on the server: keep watching, or come back to this page later.
            </p>
            <button type="button" className="button button--primary" onClick={restart}>
              Keep watching
            </button>
          </div>
        )}
        {error instanceof JobFailedError && status?.state === 'cancelled' && (
          <p className="callout" role="status" data-testid="cancelled">
            This job was cancelled.{' '}
            {error.message !== 'The job was cancelled by its owner.' ? error.message : ''}
          </p>
        )}
        {error instanceof JobFailedError && status?.state === 'failed' && (
          <div className="callout callout--error" role="alert" data-testid="failed">
            <p>
              <strong>The analysis failed.</strong> {error.message}
            </p>
            <p className="muted small">Error code: {error.code}</p>
          </div>
        )}
        {error instanceof TallyApiError && (
          <p className="callout callout--error" role="alert">
            {error.message}{' '}
            <button type="button" className="button button--link" onClick={restart}>
              Try again
            </button>
          </p>
        )}
        {resultError && (
          <p className="callout callout--error" role="alert">
            The job completed but its result could not be loaded: {resultError}
          </p>
        )}

        {/* A watch whose deadline came before the first pushed status (a loaded machine, a tiny
            budget) still leaves a job that may be running: it can be cancelled all the same. */}
        {!settled && (status || error instanceof JobTimeoutError) && (
          <div className="actions">
            <button type="button" className="button" onClick={() => void cancel()} disabled={cancelling}>
              {cancelling ? 'Cancelling…' : 'Cancel job'}
            </button>
          </div>
        )}
      </section>

      {completed && !analysis && !resultError && (
        <section className="card">
          <ProgressBar label="Loading the analysis" />
        </section>
      )}
      {status?.state === 'failed' && (
        <section className="card" aria-labelledby="rerun-title" data-testid="failed-rerun">
          <h2 id="rerun-title">Change and re-run</h2>
          <p>
            If a column or a format was read wrongly, correct it below and run the analysis again on the same
            file.
          </p>
          <RerunForm jobId={jobId} filename={status.filename} navigate={navigate} />
        </section>
      )}
      {analysis && (
        <AnalysisView
          analysis={analysis}
          afterSummary={
            status && (
              <FileReading
                jobId={jobId}
                filename={status.filename}
                reading={readingOf(analysis)}
                navigate={navigate}
              />
            )
          }
        />
      )}
    </div>
  );
}

function Processing({ status }: { status: JobStatus }) {
  const now = useNow(1000);
  if (status.state === 'queued') {
    return (
      <div className="stack-sm" aria-live="polite">
        <ProgressBar label="Processing progress" percent={0} testId="job-progress" />
        <p className="muted small">Queued: waiting for a worker to pick it up…</p>
      </div>
    );
  }
  const { percent, rowsProcessed, bytesProcessed, totalBytes } = status.progress;
  const elapsed = status.startedAt ? now - Date.parse(status.startedAt) : 0;
  return (
    <div className="stack-sm">
      <ProgressBar label="Processing progress" percent={percent} testId="job-progress" />
      <p className="muted small" aria-live="polite" data-testid="job-progress-text">
        Processing… {percent} % · {formatCount(rowsProcessed)} rows · {formatBytes(bytesProcessed)} of{' '}
        {formatBytes(totalBytes)} · {formatDuration(elapsed)} elapsed
      </p>
    </div>
  );
}

/** The current time, re-rendered every `ms` (a display clock; no requests). */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
