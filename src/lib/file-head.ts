/**
 * What both the browser (UploadForm's column preview) and the server (upload check,
 * worker) look at first in a file. Browser-safe: no Node imports.
 */

/** Bytes of a file's head that decide its dialect and columns (after gzip, if any). */
export const HEAD_BYTES = 64 * 1024;

/** gzip's magic number (RFC 1952): 1f 8b, whatever the filename says. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}
