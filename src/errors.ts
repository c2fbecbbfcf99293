/**
 * The one error type Tally throws on purpose. `code` is part of the public contract
 * (CONTRACT.md §2 and job `error.code`); `status` is the HTTP status it maps to when a
 * request caused it. Serialised in exactly one place: `src/api/error-response.ts`.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_CSV'
  | 'NO_VALID_ROWS'
  | 'DECOMPRESSED_TOO_LARGE'
  | 'FILE_MISSING'
  | 'FILE_EXPIRED'
  | 'CANCELLED'
  | 'RETRIES_EXHAUSTED'
  | 'RATE_LIMITED'
  | 'REQUEST_TIMEOUT'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  FILE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_CSV: 422,
  NO_VALID_ROWS: 422,
  DECOMPRESSED_TOO_LARGE: 422,
  FILE_MISSING: 500,
  // 410 Gone: the job exists, its stored bytes were deleted by retention and will not return.
  FILE_EXPIRED: 410,
  CANCELLED: 409,
  RETRIES_EXHAUSTED: 500,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

export class TallyError extends Error {
  override readonly name = 'TallyError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

/**
 * Errors caused by the uploaded data itself. Retrying cannot fix them, so the worker
 * fails the job at once instead of handing it back to pg-boss for another attempt.
 */
const INPUT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set([
  'INVALID_CSV',
  'NO_VALID_ROWS',
  'DECOMPRESSED_TOO_LARGE',
  'FILE_MISSING',
]);

export function isInputError(error: unknown): error is TallyError {
  return error instanceof TallyError && INPUT_ERROR_CODES.has(error.code);
}
