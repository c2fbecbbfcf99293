import { jobOptionsSchema, type JobOptions } from '../../analysis/options.ts';
import { TallyError } from '../../errors.ts';
import { sanitizeFilename } from '../upload/filename.ts';
import { describeIssues } from '../../http/error-response.ts';

/**
 * The tus 1.0.0 core protocol's words (https://tus.io/protocols/resumable-upload), with the
 * `creation`, `expiration` and `termination` extensions: what /api/uploads speaks, so that
 * stock clients (tus-js-client, Uppy) work unchanged.
 */
export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,expiration,termination';
export const OFFSET_CONTENT_TYPE = 'application/offset+octet-stream';

/** Headers a browser must be allowed to send, and to read back, for tus to work across origins. */
export const TUS_REQUEST_HEADERS = ['tus-resumable', 'upload-length', 'upload-metadata', 'upload-offset'];
export const TUS_RESPONSE_HEADERS = [
  'location',
  'tus-resumable',
  'tus-version',
  'tus-extension',
  'tus-max-size',
  'upload-offset',
  'upload-length',
  'upload-expires',
  'tally-job-id',
];

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
const MAX_METADATA_CHARS = 96 * 1024; // options JSON (64 KiB, as the multipart route's `options` part) in base64, and the rest

/** What Upload-Metadata carries for Tally (docs/reference.md, "`/api/uploads` — resumable"). */
export interface UploadMetadata {
  filename: string;
  /** The options (docs/reference.md, "Options") as sent (JSON text), checked now so that a bad one fails the POST, not the last PATCH. */
  optionsText: string | undefined;
  options: JobOptions;
  idempotencyKey: string | undefined;
}

/** `Tus-Resumable: 1.0.0` on every request but OPTIONS, else 412 (the client speaks another version). */
export function requireTusVersion(header: string | string[] | undefined): void {
  if (header !== TUS_VERSION) {
    throw new TallyError(
      'PRECONDITION_FAILED',
      `Send "Tus-Resumable: ${TUS_VERSION}": this server speaks tus ${TUS_VERSION}.`,
    );
  }
}

/** A non-negative integer header (Upload-Length, Upload-Offset), or 400 naming it. */
export function integerHeader(name: string, value: string | string[] | undefined): number {
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new TallyError('BAD_REQUEST', `${name} must be a non-negative whole number of bytes.`);
  }
  return Number(value);
}

/**
 * `Upload-Metadata: key base64,key base64` (values may be absent): filename, options and
 * idempotencyKey; other keys are ignored (clients add their own, e.g. filetype).
 */
export function parseUploadMetadata(header: string | string[] | undefined): UploadMetadata {
  const pairs = new Map<string, string>();
  if (typeof header === 'string' && header.trim() !== '') {
    if (header.length > MAX_METADATA_CHARS)
      throw new TallyError('BAD_REQUEST', 'Upload-Metadata is too long.');
    for (const entry of header.split(',')) {
      const [key, value, extra] = entry.trim().split(' ');
      if (!key || extra !== undefined || (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value))) {
        throw new TallyError(
          'BAD_REQUEST',
          'Upload-Metadata must be "key base64value" pairs separated by commas.',
        );
      }
      pairs.set(key, Buffer.from(value ?? '', 'base64').toString('utf8'));
    }
  }
  const optionsText = pairs.get('options');
  const idempotencyKey = pairs.get('idempotencyKey');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new TallyError(
      'BAD_REQUEST',
      'The idempotencyKey metadata must be 1–200 visible ASCII characters.',
    );
  }
  return {
    filename: sanitizeFilename(pairs.get('filename')),
    optionsText,
    options: parseOptions(optionsText),
    idempotencyKey,
  };
}

export function parseOptions(text: string | undefined | null): JobOptions {
  if (text === undefined || text === null || text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TallyError('BAD_REQUEST', 'The options metadata is not valid JSON.');
  }
  const parsed = jobOptionsSchema.safeParse(json);
  if (!parsed.success) {
    throw new TallyError('BAD_REQUEST', describeIssues(parsed.error.issues), { issues: parsed.error.issues });
  }
  return parsed.data;
}

/** RFC 9110 date, as tus's Upload-Expires wants it. */
export function httpDate(date: Date): string {
  return date.toUTCString();
}
