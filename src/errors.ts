/**
 * The one error type Tally throws on purpose. `code` is part of the public contract
 * (docs/reference.md, "Errors": the HTTP answers and job `error.code`); `status` is the HTTP status it maps to when a
 * request caused it. Any error becomes one in exactly one place, `toTallyError` in
 * `src/http/error-response.ts`, which both the HTTP error handler and the tRPC
 * `errorFormatter` use: procedures throw TallyError, never TRPCError.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'PRECONDITION_FAILED'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_CSV'
  | 'NO_VALID_ROWS'
  | 'DECOMPRESSED_TOO_LARGE'
  | 'ANALYSIS_TOO_LARGE'
  | 'FILE_MISSING'
  | 'FILE_EXPIRED'
  | 'FILE_CORRUPT'
  | 'CANCELLED'
  | 'RETRIES_EXHAUSTED'
  | 'RATE_LIMITED'
  | 'UPLOAD_OFFSET_MISMATCH'
  | 'UPLOAD_LOCKED'
  | 'REQUEST_TIMEOUT'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PRECONDITION_FAILED: 412,
  REQUEST_TIMEOUT: 408,
  IDEMPOTENCY_KEY_REUSED: 409,
  FILE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_CSV: 422,
  NO_VALID_ROWS: 422,
  DECOMPRESSED_TOO_LARGE: 422,
  ANALYSIS_TOO_LARGE: 422,
  FILE_MISSING: 500,
  // 410 Gone: the job exists, its stored bytes were deleted by retention and will not return.
  FILE_EXPIRED: 410,
  // A job's error, not a request's: the stored bytes do not read back as uploaded (length or SHA-256).
  FILE_CORRUPT: 500,
  CANCELLED: 409,
  RETRIES_EXHAUSTED: 500,
  RATE_LIMITED: 429,
  // tus (docs/reference.md, "/api/uploads"): a PATCH whose Upload-Offset is not the stored offset.
  UPLOAD_OFFSET_MISMATCH: 409,
  // tus: another PATCH (or DELETE) holds the upload; the client retries after Retry-After.
  UPLOAD_LOCKED: 423,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

export interface TallyErrorOptions {
  /** For 429 and 503: when to try again, sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class TallyError extends Error {
  override readonly name = 'TallyError';
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options: TallyErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = STATUS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * Errors caused by the uploaded data itself, or by its stored copy (FILE_MISSING,
 * FILE_CORRUPT: the same bytes read back the same way). Retrying cannot fix them, so the
 * worker fails the job at once instead of handing it back to pg-boss for another attempt.
 */
const INPUT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set([
  'INVALID_CSV',
  'NO_VALID_ROWS',
  'DECOMPRESSED_TOO_LARGE',
  'ANALYSIS_TOO_LARGE',
  'FILE_MISSING',
  'FILE_CORRUPT',
]);

export function isInputError(error: unknown): error is TallyError {
  return error instanceof TallyError && INPUT_ERROR_CODES.has(error.code);
}

/*
 * Refusals said in more than one place, written once. Each place throws the same words, so
 * a person (and a test) meets one sentence for one situation.
 */

/** An unknown job id and another owner's job are the same answer: neither says the job exists. */
export function jobNotFound(): TallyError {
  return new TallyError('NOT_FOUND', 'No such job (or it belongs to someone else).');
}

/** Not multipart/form-data: said by the upload route and by Fastify's content-type check. */
export function notMultipart(): TallyError {
  return new TallyError(
    'UNSUPPORTED_MEDIA_TYPE',
    'Send the upload as multipart/form-data with the CSV in a part named "file".',
  );
}
