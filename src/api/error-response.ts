import { TRPCError } from '@trpc/server';
import { isTransientDbError } from '../db/transient-errors.ts';
import { notMultipart, TallyError, type ErrorCode } from '../errors.ts';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** Fastify's own errors, mapped onto the contract's codes. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: notMultipart(), // its code and message, as the upload route says it
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BAD_REQUEST', message: 'The request body is too large.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'BAD_REQUEST', message: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'BAD_REQUEST', message: 'The request body is empty.' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'BAD_REQUEST', message: 'The URL path is too long.' },
  FST_ERR_BAD_URL: { code: 'BAD_REQUEST', message: 'The URL is not valid.' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'BAD_REQUEST', message: 'The request does not match any route.' },
};

/** tRPC's own refusals (no procedure of that name, wrong method, unreadable input). */
const TRPC_CODES: Partial<Record<TRPCError['code'], ErrorCode>> = {
  BAD_REQUEST: 'BAD_REQUEST',
  PARSE_ERROR: 'BAD_REQUEST',
  METHOD_NOT_SUPPORTED: 'BAD_REQUEST',
  PAYLOAD_TOO_LARGE: 'BAD_REQUEST',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHORIZED: 'UNAUTHORIZED',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  TIMEOUT: 'REQUEST_TIMEOUT',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

/** query_canceled: the statement ran past `statement_timeout` (DB_STATEMENT_TIMEOUT_MS). */
const STATEMENT_TIMEOUT = '57014';

interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

/**
 * zod issues as one sentence a person can act on: `waitMs: must be at most 25000; jobId:
 * must be a UUID.` — never the JSON dump of the issues (which quotes our regexes).
 */
export function describeIssues(issues: readonly Issue[]): string {
  const parts = issues.slice(0, 5).map((i) => {
    const where = i.path.map(String).join('.');
    return where ? `${where}: ${i.message}` : i.message;
  });
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return `The input is not valid: ${parts.join('; ')}${more}.`;
}

function issuesOf(error: unknown): readonly Issue[] | undefined {
  const issues = (error as { issues?: unknown } | null)?.issues;
  return Array.isArray(issues) ? (issues as Issue[]) : undefined;
}

function fromTrpc(error: TRPCError): TallyError {
  const issues = issuesOf(error.cause);
  if (issues) return new TallyError('BAD_REQUEST', describeIssues(issues));
  const code = TRPC_CODES[error.code];
  if (!code) return toTallyError(error.cause);
  // tRPC's own messages for these are written for developers but short and safe
  // ('No procedure found on path "jobs.x"', 'Unsupported GET-request to mutation…').
  return new TallyError(code, error.message);
}

/**
 * The one place any error becomes a TallyError: what it says, which contract code, which
 * status. Anything unknown is INTERNAL with a message that gives nothing away (the error
 * itself is logged where it happened).
 */
export function toTallyError(error: unknown): TallyError {
  if (error instanceof TallyError) return error;
  // A procedure's TallyError arrives wrapped: tRPC makes it the cause of an INTERNAL TRPCError.
  if (error instanceof TRPCError) {
    return error.cause instanceof TallyError ? error.cause : fromTrpc(error);
  }
  if (isTransientDbError(error)) {
    return new TallyError(
      'SERVICE_UNAVAILABLE',
      'The database is unavailable for a moment; retry shortly.',
      undefined,
      {
        retryAfterSeconds: 1,
      },
    );
  }
  if ((error as { code?: unknown } | null)?.code === STATEMENT_TIMEOUT) {
    return new TallyError(
      'SERVICE_UNAVAILABLE',
      'The database is too busy to answer in time; retry shortly.',
      undefined,
      { retryAfterSeconds: 2 },
    );
  }
  const fastifyCode = (error as { code?: string } | null)?.code;
  const mapped = fastifyCode ? FASTIFY_CODES[fastifyCode] : undefined;
  if (mapped) return new TallyError(mapped.code, mapped.message);
  const issues = issuesOf(error);
  if (issues && error instanceof Error && error.name.includes('ZodError')) {
    return new TallyError('BAD_REQUEST', describeIssues(issues));
  }
  return new TallyError('INTERNAL', 'Something went wrong on our side; the error was logged.');
}

/** The contract's error body: `{"error": {"code", "message", "details"?}}`. */
export function toErrorBody(error: TallyError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}

/** `Retry-After` for a refusal that says when to come back (429, 503), else nothing. */
export function retryAfterHeaders(error: TallyError): Record<string, string> {
  return error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
}

/** An error as an HTTP status, headers and the contract's JSON body. */
export function toErrorResponse(error: unknown): {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
} {
  const tally = toTallyError(error);
  return {
    status: tally.status,
    headers: retryAfterHeaders(tally),
    body: toErrorBody(tally),
  };
}
