'use client';

import { createTallyClient, createTokenProvider, type TallyClient } from '@tally/client';
import { useJobStatus } from '@tally/client/react';
import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { TRPCProvider, useTRPC } from './trpc';

/** One Tally client per page: tokens come from our own backend, refreshed before they expire. */
function useTally(tallyUrl: string) {
  const [minted, setMinted] = useState(0);
  const client = useMemo<TallyClient>(
    () =>
      createTallyClient({
        baseUrl: tallyUrl,
        token: createTokenProvider(async () => {
          const res = await fetch('/api/tally-token', { method: 'POST' });
          if (!res.ok) throw new Error(`token route answered ${res.status}`);
          setMinted((n) => n + 1);
          return (await res.json()) as { token: string; expiresAt: string };
        }),
      }),
    [tallyUrl],
  );
  return { client, minted };
}

export function TallyPanel({ tallyUrl }: { tallyUrl: string }) {
  const { client, minted } = useTally(tallyUrl);
  const [queryClient] = useState(() => new QueryClient());
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={client.trpc} queryClient={queryClient}>
        <Upload client={client} />
        <p>
          Tokens fetched from this app&apos;s backend: <span data-testid="tokens-minted">{minted}</span>
        </p>
        <MyJobs />
      </TRPCProvider>
    </QueryClientProvider>
  );
}

function Upload({ client }: { client: TallyClient }) {
  const [jobId, setJobId] = useState<string>();
  const [uploaded, setUploaded] = useState<number>();
  const [uploadError, setUploadError] = useState<string>();

  async function onSubmit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const file = new FormData(event.currentTarget).get('file');
    if (!(file instanceof File) || file.size === 0) return;
    setJobId(undefined);
    setUploadError(undefined);
    setUploaded(0);
    try {
      const { jobId } = await client.uploadCsv(file, { onUploadProgress: (p) => setUploaded(p.percent) });
      setJobId(jobId);
    } catch (error) {
      setUploadError(error instanceof Error ? error.message : String(error));
    }
  }

  return (
    <section>
      <form onSubmit={(e) => void onSubmit(e)}>
        <input type="file" name="file" accept=".csv,text/csv" aria-label="CSV file" />{' '}
        <button type="submit">Upload</button>
      </form>
      {uploaded !== undefined && (
        <p>
          Upload <progress data-testid="upload-progress" value={uploaded} max={100} /> {uploaded}%
        </p>
      )}
      {uploadError && <p role="alert">{uploadError}</p>}
      {jobId && <Watch client={client} jobId={jobId} />}
    </section>
  );
}

/** The job, watched twice: Tally's own hook (pushed), and tRPC's TanStack Query integration (polled). */
function Watch({ client, jobId }: { client: TallyClient; jobId: string }) {
  // Pushed over SSE (jobs.watch), long polls where a stream cannot be held; 10 min at most.
  const { status, error } = useJobStatus(jobId, {
    client,
    transport: 'watch',
    pollIntervalMs: 1000,
    maxPolls: 600,
  });
  const trpc = useTRPC();
  const viaQuery = useQuery(
    trpc.jobs.status.queryOptions(
      { jobId },
      {
        refetchInterval: (q) =>
          q.state.data && q.state.data.state !== 'queued' && q.state.data.state !== 'running' ? false : 1000,
      },
    ),
  );
  const result = useQuery(
    trpc.jobs.result.queryOptions({ jobId }, { enabled: status?.state === 'completed' }),
  );
  const total = result.data?.currencies[0]?.totals;
  return (
    <div>
      <p>
        Job <code data-testid="job-id">{jobId}</code>:{' '}
        <span data-testid="job-state">{status?.state ?? '…'}</span> {status && `${status.progress.percent}%`}
      </p>
      <p>
        Same job via <code>trpc.jobs.status.queryOptions</code>:{' '}
        <span data-testid="query-state">{viaQuery.data?.state ?? '…'}</span>
      </p>
      {error && (
        <p role="alert" data-testid="watch-error">
          {error.message}
        </p>
      )}
      {total && (
        <p>
          Revenue total: <strong data-testid="revenue-total">{total.revenue.toFixed(2)}</strong>{' '}
          {result.data?.currencies[0]?.currency ?? ''} from {total.transactions} transactions
        </p>
      )}
    </div>
  );
}

function MyJobs() {
  const trpc = useTRPC();
  const jobs = useQuery(trpc.jobs.list.queryOptions({ limit: 20 }, { refetchInterval: 2000 }));
  return (
    <section>
      <h2>Your jobs</h2>
      <ul data-testid="my-jobs">
        {jobs.data?.items.map((job) => (
          <li key={job.id} data-job-id={job.id}>
            {job.filename}: {job.state}
          </li>
        ))}
      </ul>
    </section>
  );
}
