import type { JobState, UploadOptions } from './types.ts';

/** What `uploadCsv` takes and gives, apart from the code that sends (upload.ts, resumable-upload.ts). */
export interface UploadProgress {
  /** File bytes sent so far (multipart framing not counted). */
  loaded: number;
  /** The file's size. */
  total: number;
  /** 0..100, whole numbers. */
  percent: number;
}

export interface UploadCsvOptions {
  /** Column mapping and format options (docs/reference.md, "Options"); omitted = detect from the file. */
  options?: UploadOptions;
  /** Same key within 24 h returns the first job instead of creating another. */
  idempotencyKey?: string;
  onUploadProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
  /** Name sent for a Blob that has none (a File's own name wins). */
  filename?: string;
  /**
   * Files over 8 MiB go through the resumable route (tus, /api/uploads): a dropped
   * connection costs a retry from where the server stands, not the whole file. `reused` is
   * then always false (the completing answer does not say whether an idempotencyKey matched).
   */
  resumable?: boolean;
}

export interface UploadResult {
  jobId: string;
  state: JobState;
  /** True when the Idempotency-Key matched an earlier upload (HTTP 200) and no new job was made. */
  reused: boolean;
}
