import { authHeaders, type ClientContext } from './context.ts';
import { TallyApiError } from './errors.ts';
import { RESUMABLE_THRESHOLD_BYTES, uploadResumable } from './resumable-upload.ts';
import { streamedMultipart } from './streamed-multipart.ts';
import type { JobState, UploadOptions } from './types.ts';
import type { UploadCsvOptions, UploadResult } from './upload-types.ts';

export type { UploadCsvOptions, UploadProgress, UploadResult } from './upload-types.ts';

/**
 * POST /api/jobs as multipart/form-data. Browsers use XMLHttpRequest, the only browser API
 * that reports upload progress. Node streams the body through fetch and counts file bytes
 * as the HTTP layer pulls them, so progress follows the socket rather than a buffered
 * copy and memory stays flat for any size. A caller's own fetch is used for the upload
 * too (streamed in Node, a FormData body in browsers).
 */
export async function uploadCsv(
  ctx: ClientContext,
  file: Blob,
  opts: UploadCsvOptions = {},
): Promise<UploadResult> {
  opts.signal?.throwIfAborted();
  const filename = (file as Partial<File>).name || opts.filename || 'upload.csv';
  if (opts.resumable && file.size > RESUMABLE_THRESHOLD_BYTES)
    return uploadResumable(ctx, file, filename, opts);
  const headers: Record<string, string> = { ...(await authHeaders(ctx)) };
  if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
  const url = `${ctx.baseUrl}/api/jobs`;
  const report = progressReporter(file.size, opts.onUploadProgress);

  const inBrowser = typeof XMLHttpRequest === 'function';
  const { status, text } =
    inBrowser && !ctx.customFetch
      ? await sendWithXhr(url, headers, multipartForm(file, filename, opts.options), report, opts.signal)
      : inBrowser
        ? // Browsers stream request bodies only over HTTP/2: a caller's own fetch gets a plain
          // FormData body, and progress only at the end.
          await sendForm(ctx, url, headers, multipartForm(file, filename, opts.options), opts.signal)
        : await sendWithFetch(ctx, url, headers, file, filename, opts.options, report, opts.signal);

  const body = parseJson(text);
  if (status === 200 || status === 202) {
    const ok = body as { jobId?: unknown; state?: unknown } | undefined;
    if (typeof ok?.jobId !== 'string') {
      throw new TallyApiError(status, 'BAD_RESPONSE', 'The server accepted the upload but sent no job id.');
    }
    report(file.size);
    return { jobId: ok.jobId, state: (ok.state as JobState | undefined) ?? 'queued', reused: status === 200 };
  }
  const err = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
    ?.error;
  throw new TallyApiError(
    status,
    typeof err?.code === 'string' ? err.code : `HTTP_${status}`,
    typeof err?.message === 'string' ? err.message : `The upload failed with HTTP ${status}.`,
    err?.details,
  );
}

function progressReporter(total: number, onProgress: UploadCsvOptions['onUploadProgress']) {
  let last = -1;
  return (loaded: number) => {
    const clamped = Math.min(total, Math.max(0, loaded));
    if (!onProgress || clamped === last) return;
    last = clamped;
    onProgress({ loaded: clamped, total, percent: total === 0 ? 100 : Math.floor((clamped / total) * 100) });
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The options part goes first: the server can then read it before the file streams past. */
function multipartForm(file: Blob, filename: string, options: UploadOptions | undefined): FormData {
  const form = new FormData();
  if (options !== undefined) form.append('options', JSON.stringify(options));
  form.append('file', file, filename);
  return form;
}

function sendWithXhr(
  url: string,
  headers: Record<string, string>,
  form: FormData,
  report: (loaded: number) => void,
  signal: AbortSignal | undefined,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const done = () => signal?.removeEventListener('abort', onAbort);
    xhr.open('POST', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      // e.loaded counts the multipart framing too; scale it onto the file's bytes.
      const fileBytes = (form.get('file') as Blob).size;
      if (e.lengthComputable && e.total > 0) report(Math.round((e.loaded / e.total) * fileBytes));
    };
    xhr.onload = () => {
      done();
      resolve({ status: xhr.status, text: xhr.responseText });
    };
    xhr.onerror = () => {
      done();
      reject(new TallyApiError(0, 'NETWORK_ERROR', 'The upload could not reach the Tally server.'));
    };
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => {
      done();
      reject(
        (signal?.reason as Error | undefined) ?? new DOMException('The upload was aborted.', 'AbortError'),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    xhr.send(form);
  });
}

async function sendForm(
  ctx: ClientContext,
  url: string,
  headers: Record<string, string>,
  form: FormData,
  signal: AbortSignal | undefined,
): Promise<{ status: number; text: string }> {
  try {
    const response = await ctx.fetch(url, { method: 'POST', headers, body: form, signal });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw networkError(error);
  }
}

async function sendWithFetch(
  ctx: ClientContext,
  url: string,
  headers: Record<string, string>,
  file: Blob,
  filename: string,
  options: UploadOptions | undefined,
  report: (loaded: number) => void,
  signal: AbortSignal | undefined,
): Promise<{ status: number; text: string }> {
  const boundary = `----tally-${crypto.randomUUID()}`;
  const body = streamedMultipart(boundary, file, filename, options, report);
  let response: Response;
  try {
    response = await ctx.fetch(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        // A declared length (rather than chunked encoding) lets undici read a refusal the
        // server sends mid-body (401, 413) and close the connection: with chunked
        // encoding the same refusal surfaced as EPIPE about half the time.
        'content-length': String(body.length),
      },
      body: body.stream,
      duplex: 'half', // required by fetch for a streamed request body
      signal,
    } as RequestInit);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw networkError(error);
  }
  return { status: response.status, text: await response.text() };
}

function networkError(error: unknown): TallyApiError {
  return new TallyApiError(
    0,
    'NETWORK_ERROR',
    `The upload could not reach the Tally server: ${describe(error)}`,
    undefined,
    {
      cause: error,
    },
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
