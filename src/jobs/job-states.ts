/**
 * A job's states (docs/reference.md, "A job's life"), in one module the database types, the API, the client
 * package and the web page all import. Browser-safe on purpose: no imports at all.
 */
export const jobStates = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof jobStates)[number];

/** States after which a job never changes again. */
export const finalJobStates: ReadonlySet<JobState> = new Set<JobState>(['completed', 'failed', 'cancelled']);

export function isFinal(state: JobState): boolean {
  return finalJobStates.has(state);
}
