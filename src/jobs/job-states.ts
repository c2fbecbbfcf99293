/**
 * The states of a job, as the contract names them. Here, below both the database and the
 * API (and safe for the browser), so that the public status view and the row types share
 * one vocabulary without the view importing the database layer.
 */
export const jobStates = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof jobStates)[number];
export const finalJobStates: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);
