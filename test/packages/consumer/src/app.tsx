// A consumer of the published packages, as an outside app writes it.
import { createTRPCClient, httpLink } from '@trpc/client';
import {
  createTallyClient,
  createTokenProvider,
  JobFailedError,
  JobTimeoutError,
  type AppRouter,
  type JobStatus,
  type RevenueAnalysis,
  type UploadOptions,
} from '@tally/client';
import { useJobStatus } from '@tally/client/react';

const tally = createTallyClient({
  baseUrl: 'https://api.example.com',
  token: createTokenProvider(async () => {
    const res = await fetch('/api/tally-token', { method: 'POST' });
    return (await res.json()) as { token: string; expiresAt: string };
  }),
});

export async function analyse(file: File): Promise<number> {
  const options: UploadOptions = { columns: { amount: 'Net' }, decimalSeparator: ',' };
  const { jobId } = await tally.uploadCsv(file, { options, onUploadProgress: (p) => console.log(p.percent) });
  try {
    await tally.pollJob(jobId, { maxPolls: 10 });
  } catch (error) {
    if (error instanceof JobTimeoutError) return error.polls;
    if (error instanceof JobFailedError) return error.code.length;
    throw error;
  }
  const analysis: RevenueAnalysis = await tally.trpc.jobs.result.query({ jobId });
  const revenue: number = analysis.currencies[0]?.totals.revenue ?? 0;
  // @ts-expect-error jobId is a string: the router's input types reached this file.
  await tally.trpc.jobs.status.query({ jobId: 42 });
  // @ts-expect-error no such procedure.
  await tally.trpc.jobs.delete.mutate({ jobId });
  return revenue;
}

// The raw tRPC client against the published router type works too.
export const raw = createTRPCClient<AppRouter>({
  links: [httpLink({ url: 'https://api.example.com/trpc' })],
});
export const list = raw.jobs.list
  .query({ limit: 5 })
  .then((page) => page.items.map((j: JobStatus) => j.state));

export function Progress({ jobId }: { jobId: string }) {
  const { status, error, polls } = useJobStatus(jobId, { client: tally, pollIntervalMs: 1000 });
  if (error) return <p role="alert">{error.message}</p>;
  const state: JobStatus['state'] | undefined = status?.state;
  return (
    <p>
      {state ?? 'loading'} {status?.progress.percent}% ({polls})
    </p>
  );
}
