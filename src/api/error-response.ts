import { isTransientDbError } from '../db/transient-errors.ts';
import { TallyError, type ErrorCode } from '../errors.ts';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** Fastify's own errors, mapped onto the contract's codes. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Send the upload as multipart/form-data with the CSV in a part named "file".',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BAD_REQUEST', message: 'The request body is too large.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BAD_REQUEST', message: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'BAD_REQUEST', message: 'The request body is empty.' },
};

/** The one place an error becomes an HTTP status and a JSON body. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof TallyError) {
    return {
      status: error.status,
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(error.details === undefined ? {} : { details: error.details }),
        },
      },
    };
  }
  if (isTransientDbError(error)) {
    return toErrorResponse(
      new TallyError(
        'SERVICE_UNAVAILABLE',
        'The database is unavailable for a moment; retry the upload shortly.',
      ),
    );
  }
  const fastifyCode = (error as { code?: string } | null)?.code;
  const mapped = fastifyCode ? FASTIFY_CODES[fastifyCode] : undefined;
  if (mapped) return toErrorResponse(new TallyError(mapped.code, mapped.message));
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'Something went wrong on our side; the error was logged.' } },
  };
}
