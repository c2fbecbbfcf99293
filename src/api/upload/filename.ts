const MAX_FILENAME_CHARS = 255;

/**
 * The client's filename is data, shown back to its owner; it never becomes a path (staged
 * chunks are keyed by the job id, and busboy drops any directory part). It is kept as
 * sent, UTF-8 included, minus C0 and C1 control characters and DEL (PostgreSQL text
 * cannot hold NUL; the others reorder or hide text in logs and terminals), trimmed and cut
 * to a bounded length.
 */
export function sanitizeFilename(raw: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  const clean = (raw ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  return [...clean].slice(0, MAX_FILENAME_CHARS).join('') || 'upload.csv';
}
