/**
 * Limits of the public API that the server enforces and the client plans around, in one
 * module both import. Browser-safe on purpose: no imports at all, so the client package
 * (and the web page's bundle) can take it without pulling in Node.
 */

/** The longest long poll: jobs.status `waitMs` is 0..MAX_WAIT_MS (docs/reference.md, "Watching and managing jobs"). */
export const MAX_WAIT_MS = 25_000;
