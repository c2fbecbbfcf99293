/**
 * What a browser token may do. `read`: jobs.status, jobs.result, jobs.list. `upload`:
 * POST /api/jobs and jobs.cancel (the calls that change jobs). Static API keys may do all.
 */
export const SCOPES = ['upload', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

/** The audience Tally expects in every browser token (`aud`). */
export const TOKEN_AUDIENCE = 'tally';

/** Claim holding the job id a token is bound to (absent: any job of its owner). */
export const JOB_CLAIM = 'job';

/** Owner names that cannot be claimed by a token or an API key. */
export const RESERVED_OWNERS: ReadonlySet<string> = new Set(['local']);
