import type { JobOptions } from './mapping.ts';

/**
 * What this tab knows about the jobs it made, by job id: the file it uploaded and the
 * options sent. A re-run form can then offer the file's own header names (read again in
 * the browser, never uploaded again) and start from the options of the job it corrects.
 * Memory only: a File cannot be stored, so after a reload the form falls back to typed
 * names (or the user picks the file again to list them).
 */
export interface Remembered {
  file: File | undefined;
  options: JobOptions;
  /** Set on a job this tab made with jobs.rerun: the job it corrects. */
  rerunOf?: string;
}

const byJob = new Map<string, Remembered>();

export function rememberUpload(jobId: string, file: File, options: JobOptions): void {
  byJob.set(jobId, { file, options });
}

/** A re-run reads the same bytes as the job it came from. */
export function rememberRerun(jobId: string, fromJobId: string, options: JobOptions): void {
  byJob.set(jobId, { file: byJob.get(fromJobId)?.file, options, rerunOf: fromJobId });
}

/** Keeps a file the user picked again (after a reload) for this job. */
export function rememberFile(jobId: string, file: File): void {
  byJob.set(jobId, { options: {}, ...byJob.get(jobId), file });
}

export function recalled(jobId: string): Remembered | undefined {
  return byJob.get(jobId);
}
