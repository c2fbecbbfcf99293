import { v7 as uuidv7 } from 'uuid';
import type { Db } from '../../db/database.ts';
import { beginStaging, discardStaging, renewStaging, stageChunk } from '../../db/jobs/staged-uploads.ts';
import { thisProcess } from '../../lib/process-identity.ts';

/**
 * One upload's staged chunks in PostgreSQL, under the id its job will get. Nothing is
 * written until the first full chunk: a file smaller than a chunk is never staged and is
 * stored by the upload transaction itself (one statement instead of three, for P5).
 */
export class UploadStaging {
  readonly id = uuidv7();
  /** Chunks committed so far (seq 0 … chunks-1). */
  chunks = 0;
  private touched = false;
  private lost: Error | undefined;
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly leaseMs: number,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  async stage(data: Buffer): Promise<void> {
    if (this.lost) throw this.lost;
    this.touched = true;
    if (this.chunks === 0) {
      await beginStaging(this.db.kysely, this.id, thisProcess, data);
      this.startRenewing();
    } else {
      await stageChunk(this.db.kysely, this.id, this.chunks, data);
    }
    this.chunks += 1;
  }

  /** Stops renewing the lease: the staging was adopted by its job, or is being discarded. */
  stop(): void {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /**
   * Deletes whatever was staged. A failure here leaves an orphan for the sweep (its lease
   * is no longer renewed), never a job.
   */
  async discard(): Promise<void> {
    this.stop();
    if (!this.touched) return;
    try {
      await discardStaging(this.db.kysely, this.id);
    } catch (error) {
      this.log.warn(
        { err: error, stagedUpload: this.id },
        'could not delete a refused upload’s chunks; the sweep will',
      );
    }
  }

  private startRenewing(): void {
    // A third of the lease: two renewals may fail (a busy database) before it runs out.
    this.renewTimer = setInterval(() => {
      renewStaging(this.db.kysely, this.id).catch((error: unknown) => {
        if (error instanceof Error && 'code' in error && error.code === 'SERVICE_UNAVAILABLE') {
          this.lost = error;
          this.stop();
        }
      });
    }, this.leaseMs / 3);
    this.renewTimer.unref();
  }
}
