import { TallyError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';

/**
 * Errors caused by the file, written in two parts (docs/reference.md, "Errors"):
 * - `message`: the whole explanation for the person who sent the file — may quote header
 *   names and cell values (the upload's 422 answer, `details.help` of a failed job);
 * - `details.summary`: the same advice without anything taken from the file (no header
 *   names, no cell values; counts, line numbers, option names and Tally's own words only).
 *   This is what a job's `error_message` column holds, the one the read-only admin role sees.
 */
export interface FileErrorDetails {
  summary: string;
  [more: string]: unknown;
}

export function fileError(
  code: ErrorCode,
  message: string,
  summary: string,
  more: Record<string, unknown> = {},
): TallyError {
  return new TallyError(code, message, { summary, ...more } satisfies FileErrorDetails);
}

function summaryOf(details: unknown): string | undefined {
  const summary = (details as { summary?: unknown } | null | undefined)?.summary;
  return typeof summary === 'string' ? summary : undefined;
}

/**
 * What a failed job records (`error_message`, `error_details`) for an input error: the
 * content-free summary as the message, and the full explanation as `details.help`. Errors
 * thrown without a summary carry no file contents in their message (gzip, size and line-
 * length refusals), so their message is kept as it is.
 */
export function jobErrorRecord(error: TallyError): { message: string; details: unknown } {
  const summary = summaryOf(error.details);
  if (summary === undefined) return { message: error.message, details: error.details };
  const { summary: _summary, ...rest } = error.details as FileErrorDetails;
  return { message: summary, details: { ...rest, help: error.message } };
}
