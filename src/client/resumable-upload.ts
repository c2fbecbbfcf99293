import { authHeaders, sleep, type ClientContext } from './context.ts';
import { TallyApiError } from './errors.ts';
import type { UploadCsvOptions, UploadResult } from './upload-types.ts';

/** Files above this go through /api/uploads when `resumable: true`; smaller ones are one POST. */
export const RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;
/**
 * Bytes per PATCH. A dropped connection costs at most what the server had not stored of
 * the PATCH in flight (it keeps what arrived); 16 MiB keeps the requests few (64 per GiB)
 * and, in browsers, bounds what one request holds.
 */
const PATCH_BYTES = 16 * 1024 * 1024;
/** Waits before the next try after a failure; reset once a try makes progress. */
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10_000, 20_000];
const TUS = { 'tus-resumable': '1.0.0' };

/**
 * `uploadCsv(file, {resumable: true})`: the tus 1.0.0 protocol of docs/reference.md
 * ("`/api/uploads` — resumable"), without a dependency (the package brings only
 * @trpc/client). Creates the upload, PATCHes it in slices, and after a dropped connection (or
 * a 5xx, 409, 423, 429) asks the server where it stands (HEAD) and goes on from there. The
 * PATCH that completes it names the job. Aborting the signal terminates the upload on the
 * server (DELETE), best effort.
 */
export async function uploadResumable(
  ctx: ClientContext,
  file: Blob,
  filename: string,
  opts: UploadCsvOptions,
): Promise<UploadResult> {
  const url = await createUpload(ctx, file, filename, opts);
  try {
    return await patchUntilDone(ctx, url, file, opts);
  } catch (error) {
    if (opts.signal?.aborted) {
      // The user gave up: free the server's bytes now rather than at expiry.
      void request(ctx, url, 'DELETE', undefined).catch(() => undefined);
    }
    throw error;
  }
}

/** POST /api/uploads: the upload's URL (its Location, resolved against the base URL). */
async function createUpload(
  ctx: ClientContext,
  file: Blob,
  filename: string,
  opts: UploadCsvOptions,
): Promise<string> {
  const metadata = [['filename', filename]];
  if (opts.options !== undefined) metadata.push(['options', JSON.stringify(opts.options)]);
  if (opts.idempotencyKey !== undefined) metadata.push(['idempotencyKey', opts.idempotencyKey]);
  const created = await request(ctx, `${ctx.baseUrl}/api/uploads`, 'POST', opts.signal, {
    'upload-length': String(file.size),
    'upload-metadata': metadata.map(([k, v]) => `${k} ${base64(v!)}`).join(','),
  });
  if (created.status !== 201) throw await refusal(created);
  const location = created.headers.get('location');
  if (!location)
    throw new TallyApiError(201, 'BAD_RESPONSE', 'The server created the upload but sent no Location.');
  return new URL(location, `${ctx.baseUrl || globalThis.location?.origin}/`).toString();
}

/** PATCHes slice after slice from the server's offset until the PATCH that names the job. */
async function patchUntilDone(
  ctx: ClientContext,
  url: string,
  file: Blob,
  opts: UploadCsvOptions,
): Promise<UploadResult> {
  const report = (loaded: number) =>
    opts.onUploadProgress?.({ loaded, total: file.size, percent: Math.floor((loaded / file.size) * 100) });
  const tries = { failures: 0 };
  let offset = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    let response: Response;
    try {
      response = await request(
        ctx,
        url,
        'PATCH',
        opts.signal,
        { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
        file.slice(offset, offset + PATCH_BYTES),
      );
    } catch (error) {
      if (opts.signal?.aborted) throw error;
      offset = await offsetAfterFailure(ctx, url, opts.signal, tries, offset, error);
      continue;
    }
    const jobId = response.headers.get('tally-job-id');
    if (response.status === 204 && jobId) {
      report(file.size);
      return { jobId, state: 'queued', reused: false };
    }
    if (response.status === 204) {
      offset = Number(response.headers.get('upload-offset'));
      tries.failures = 0;
      report(offset);
      continue;
    }
    if (!retryable(response.status)) throw await refusal(response);
    offset = await offsetAfterFailure(ctx, url, opts.signal, tries, offset, await refusal(response));
  }
}

/**
 * After a failed PATCH: waits its turn, then asks where the upload stands (HEAD); throws
 * `error` once the tries are spent. Progress since the last failure earns a fresh set of tries.
 */
async function offsetAfterFailure(
  ctx: ClientContext,
  url: string,
  signal: AbortSignal | undefined,
  tries: { failures: number },
  offset: number,
  error: unknown,
): Promise<number> {
  const delay = RETRY_DELAYS_MS[tries.failures++];
  if (delay === undefined) throw error;
  await sleep(delay, signal);
  try {
    const head = await request(ctx, url, 'HEAD', signal);
    if (head.status !== 200) throw await refusal(head);
    const stored = Number(head.headers.get('upload-offset'));
    if (stored > offset) tries.failures = 0; // progress: a fresh set of tries
    return stored;
  } catch (headError) {
    if (headError instanceof TallyApiError && !headError.transient) throw headError;
    return offset; // the HEAD failed too: the next PATCH finds out (409 names the offset)
  }
}

async function request(
  ctx: ClientContext,
  url: string,
  method: string,
  signal: AbortSignal | undefined,
  headers: Record<string, string> = {},
  body?: Blob,
): Promise<Response> {
  try {
    return await ctx.fetch(url, {
      method,
      headers: { ...TUS, ...(await authHeaders(ctx)), ...headers },
      ...(body === undefined ? {} : { body }),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new TallyApiError(
      0,
      'NETWORK_ERROR',
      'The upload lost its connection to the Tally server.',
      undefined,
      {
        cause: error,
      },
    );
  }
}

function retryable(status: number): boolean {
  return status === 409 || status === 423 || status === 429 || status === 408 || status >= 500;
}

async function refusal(response: Response): Promise<TallyApiError> {
  let err: { code?: unknown; message?: unknown; details?: unknown } | undefined;
  try {
    err = ((await response.json()) as { error?: typeof err }).error;
  } catch {
    err = undefined;
  }
  return new TallyApiError(
    response.status,
    typeof err?.code === 'string' ? err.code : `HTTP_${response.status}`,
    typeof err?.message === 'string' ? err.message : `The upload failed with HTTP ${response.status}.`,
    err?.details,
  );
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
