import { useEffect, useState } from 'react';
import { toTallyApiError, type JobStatus } from '../../../client/index.ts';
import { formatBytes } from '../../../lib/format-bytes.ts';
import { formatDateTime } from '../format.ts';
import { linkHandler } from '../routing.ts';
import { useTally } from '../tally.ts';
import { StateBadge } from './StateBadge.tsx';

/** The owner's latest jobs (jobs.list), fetched on mount and whenever `refreshKey` changes. */
export function RecentJobs({
  refreshKey,
  currentJobId,
  navigate,
}: {
  refreshKey: number;
  currentJobId: string | undefined;
  navigate: (path: string) => void;
}) {
  const { client, onUnauthorized } = useTally();
  const [items, setItems] = useState<JobStatus[]>();
  const [error, setError] = useState<string>();
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    client.trpc.jobs.list.query({ limit: 10 }, { signal: controller.signal }).then(
      (page) => {
        setItems(page.items);
        setError(undefined);
      },
      (e: unknown) => {
        if (controller.signal.aborted) return;
        const error = toTallyApiError(e);
        if (error.status === 401) onUnauthorized();
        setError(error.message);
      },
    );
    return () => controller.abort();
  }, [client, refreshKey, reloads, onUnauthorized]);

  return (
    <section className="card recent" aria-labelledby="recent-title">
      <div className="recent__head">
        <h2 id="recent-title">Recent jobs</h2>
        <button type="button" className="button button--link" onClick={() => setReloads((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {error && <p className="callout callout--error small">{error}</p>}
      {items === undefined && !error && <p className="muted small">Loading…</p>}
      {items?.length === 0 && <p className="muted small">No jobs yet. Upload a CSV to start.</p>}
      {items && items.length > 0 && (
        <ul className="recent__list" data-testid="recent-jobs">
          {items.map((job) => (
            <li key={job.id}>
              <a
                href={`/jobs/${job.id}`}
                onClick={linkHandler(navigate, `/jobs/${job.id}`)}
                className="recent__item"
                aria-current={job.id === currentJobId ? 'page' : undefined}
              >
                <span className="recent__name">{job.filename}</span>
                <StateBadge state={job.state} />
                <span className="muted small">
                  {formatDateTime(job.createdAt)} · {formatBytes(job.bytes)}
                  {job.state === 'running' ? ` · ${job.progress.percent}\u00a0%` : ''}
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
