/** Small helpers for talking to a real Tally server over real HTTP in tests. */
import { expect } from 'vitest';

export interface UploadOptions {
  filename?: string;
  options?: unknown;
  headers?: Record<string, string>;
}

export async function postCsv(
  baseUrl: string,
  content: string | Uint8Array<ArrayBuffer>,
  opts: UploadOptions = {},
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  if (opts.options !== undefined) {
    form.append('options', typeof opts.options === 'string' ? opts.options : JSON.stringify(opts.options));
  }
  form.append('file', new Blob([content]), opts.filename ?? 'revenue.csv');
  const res = await fetch(`${baseUrl}/api/jobs`, { method: 'POST', body: form, headers: opts.headers ?? {} });
  return { status: res.status, body: await res.json() };
}

/** GET a tRPC query the way curl would: no client library. */
export async function trpcQuery(
  baseUrl: string,
  path: string,
  input: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const url = `${baseUrl}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`;
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json() };
}

export async function trpcMutation(
  baseUrl: string,
  path: string,
  input: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(input),
  });
  return { status: res.status, body: await res.json() };
}

/** Polls jobs.status until the job is final (or the deadline passes). */
export async function waitForFinal(
  baseUrl: string,
  jobId: string,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let knownVersion: number | undefined;
  while (Date.now() < deadline) {
    const { status: http, body } = await trpcQuery(
      baseUrl,
      'jobs.status',
      { jobId, waitMs: 2000, ...(knownVersion === undefined ? {} : { knownVersion }) },
      headers,
    );
    // 503 is the contract's "retry shortly" (a pool that could not connect within its 5 s
    // on a machine at load ~20 answered it): a client asks again after the Retry-After it
    // was given (1–2 s), as @tally/client does. Backing off, not waiting for something.
    if (http === 503) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    const status = body.result?.data;
    if (!status) throw new Error(`status failed: ${JSON.stringify(body)}`);
    if (['completed', 'failed', 'cancelled'].includes(status.state)) return status;
    knownVersion = status.version;
  }
  throw new Error(`job ${jobId} did not finish within ${timeoutMs} ms`);
}

/**
 * Uploads a CSV, waits for its job, and returns the analysis (jobs.result). Fails the test
 * where the upload is refused, the job ends other than completed, or the result is refused.
 */
export async function analyseUpload(
  baseUrl: string,
  content: string | Uint8Array<ArrayBuffer>,
  opts: UploadOptions = {},
): Promise<any> {
  const upload = await postCsv(baseUrl, content, opts);
  expect(upload.status, JSON.stringify(upload.body)).toBe(202);
  const status = await waitForFinal(baseUrl, upload.body.jobId, opts.headers);
  expect(status.state).toBe('completed');
  const result = await trpcQuery(baseUrl, 'jobs.result', { jobId: upload.body.jobId }, opts.headers);
  expect(result.status).toBe(200);
  return result.body.result.data;
}
