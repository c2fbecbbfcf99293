import type pg from 'pg';
import type { Db } from '../../db/database.ts';
import {
  beginStagingBatch,
  discardStaging,
  insertChunk,
  insertFirstChunk,
  insertStagingRow,
  renewStaging,
  stagingLost,
} from '../../db/jobs/staged-uploads.ts';
import { TallyError } from '../../errors.ts';
import { thisProcess } from '../../lib/process-identity.ts';

/**
 * Chunks per staging transaction. One transaction per 1 MiB chunk ran at a third of the
 * speed of one transaction for the file (8–10 vs 28–29 MB/s on this machine's PostgreSQL
 * 15, even with synchronous_commit off). On a quiet machine and a 1 GiB upload (bench P1a,
 * against the bare server that writes the file in one transaction, alternate runs):
 * batches of 8 gave 0.85–0.94× of it, batches of 32 1.02–1.16×. A batch commits after
 * IDLE_COMMIT_MS without a chunk whatever its size, so a slow client never holds one open.
 */
const CHUNKS_PER_BATCH = 32;
/**
 * A batch holds a pool connection: once another request waits for one, the batch commits
 * as soon as it has this many chunks. With 32 for everyone, 20 concurrent 50 MiB uploads on
 * the default pool of 10 left the others waiting past the pool's 5 s connection timeout
 * (4 of 20 answered 503, bench P1c); batches of 8 under contention is what P1c passed with.
 */
const CHUNKS_PER_BATCH_WHEN_CONTENDED = 8;
/**
 * A batch open this long without a new chunk is committed, so a slow client never keeps a
 * pool connection idle in a transaction (a chunk of a trickling upload can take minutes).
 */
const IDLE_COMMIT_MS = 250;

export interface StagingLog {
  warn(obj: object, msg: string): void;
}

/** Where a staging starts: a new one, or one resumed with `chunks` committed chunks. */
export interface BatchesStart {
  id: string;
  chunks: number;
  /** The staged_uploads row exists already (a resumed or suspended staging). */
  rowExists: boolean;
  /** A resumable staging's deadline: its lease is not shortened before then. */
  keepUntil: Date | undefined;
}

/**
 * One staging's chunks in PostgreSQL, under the id its job will get, written in batches on
 * one pool client, each batch a transaction; between batches the client goes back to the
 * pool. Operations run one at a time, in order.
 *
 * Every chunk staged must be committed, or the upload fails: a batch that does not commit
 * (its connection cut, the database restarting) takes its chunks with it, so the staging
 * is lost from then on (`stage` and `flush` reject with SERVICE_UNAVAILABLE), including when
 * the commit was the idle timer's, which no caller awaits. Otherwise the next batch would
 * renew the lease and go on at a higher `seq`, and the job would adopt a file with a hole.
 */
export class StagingBatches {
  readonly id: string;
  /** Chunks written so far (seq 0 … chunks-1); committed once `flush` resolves. */
  chunks: number;
  private rowExists: boolean;
  /** A resumable staging's lease deadline (keepUntil − lease): held until then, whoever writes. */
  private heldUntil: Date | undefined;
  private touched = false;
  private lost: Error | undefined;
  private client: pg.PoolClient | undefined;
  private inBatch = 0;
  private queue: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private lastWriteAt = 0;
  /** When the lease was last renewed (a batch or the timer), for `keepLease`. */
  private renewedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly leaseMs: number,
    private readonly log: StagingLog,
    start: BatchesStart,
  ) {
    this.id = start.id;
    this.chunks = start.chunks;
    this.rowExists = start.rowExists;
    this.heldUntil = heldUntil(start.keepUntil, leaseMs);
    if (this.rowExists) {
      this.touched = true;
      this.renewedAt = Date.now();
      this.startRenewing();
    }
  }

  /** Whether anything is stored under the id (a chunk, or the row of a suspended staging). */
  get stored(): boolean {
    return this.rowExists;
  }

  /** Writes the next chunk (within the open batch; commits it when full). */
  stage(data: Buffer): Promise<void> {
    return this.serial(async () => {
      if (this.lost) throw this.lost;
      clearTimeout(this.idleTimer);
      this.touched = true;
      const client = await this.openBatch();
      if (!this.rowExists) {
        await insertFirstChunk(client, this.id, thisProcess, data, this.heldUntil);
        this.rowExists = true;
        this.startRenewing();
      } else {
        await insertChunk(client, this.id, this.chunks, data);
      }
      this.chunks += 1;
      this.lastWriteAt = Date.now();
      if (this.batchIsDue()) await this.commitBatch();
      else
        this.idleTimer = setTimeout(
          // Its failure is kept in `lost` (endBatch) and rejects the next stage or flush.
          () => void this.serial(() => this.commitBatch()).catch(() => undefined),
          IDLE_COMMIT_MS,
        );
    });
  }

  private batchIsDue(): boolean {
    if (this.inBatch >= CHUNKS_PER_BATCH) return true;
    return this.inBatch >= CHUNKS_PER_BATCH_WHEN_CONTENDED && this.db.pool.waitingCount > 0;
  }

  /** Commits whatever is written: every staged chunk is then visible to the adoption. */
  flush(): Promise<void> {
    return this.serial(async () => {
      await this.commitBatch();
      if (this.lost) throw this.lost;
    });
  }

  /**
   * Makes sure at least two thirds of the lease are left (renewing it if need be), then
   * stops the timers: the adoption that follows has the lease to itself.
   */
  keepLease(): Promise<void> {
    return this.serial(async () => {
      if (this.lost) throw this.lost;
      if (this.rowExists && Date.now() - this.renewedAt > this.leaseMs / 3) {
        await renewStaging(this.db.pool, this.id, this.heldUntil);
      }
      this.stop();
    });
  }

  /**
   * Commits, makes sure the staged_uploads row exists (a resumable upload may not have
   * sent a byte yet), and hands the staging over until `keepUntil`.
   */
  suspend(keepUntil: Date): Promise<void> {
    return this.serial(async () => {
      await this.commitBatch();
      if (this.lost) throw this.lost;
      this.heldUntil = heldUntil(keepUntil, this.leaseMs);
      if (this.rowExists) await renewStaging(this.db.pool, this.id, this.heldUntil);
      else await insertStagingRow(this.db.pool, this.id, thisProcess, this.heldUntil!);
      this.rowExists = true;
      this.touched = true;
      this.stop();
    });
  }

  /** Stops the timers: the staging was adopted by its job, or is being discarded. */
  stop(): void {
    clearTimeout(this.idleTimer);
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /**
   * Rolls back the open batch and deletes what was committed. A failure here leaves an
   * orphan for the sweep (its lease is no longer renewed), never a job.
   */
  async discard(): Promise<void> {
    this.stop();
    if (!this.touched) return;
    try {
      await this.serial(async () => {
        await this.endBatch('rollback');
        await discardStaging(this.db.kysely, this.id);
      });
    } catch (error) {
      this.log.warn(
        { err: error, stagedUpload: this.id },
        'could not delete a refused upload’s chunks; the sweep will',
      );
    }
  }

  private serial(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async openBatch(): Promise<pg.PoolClient> {
    if (this.client) {
      this.inBatch += 1;
      return this.client;
    }
    const client = await this.db.pool.connect();
    try {
      await beginStagingBatch(client);
      if (this.rowExists) await renewStaging(client, this.id, this.heldUntil);
      this.renewedAt = Date.now();
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      client.release();
      throw error;
    }
    this.client = client;
    this.inBatch = 1;
    return client;
  }

  private async commitBatch(): Promise<void> {
    clearTimeout(this.idleTimer);
    await this.endBatch('commit');
  }

  private async endBatch(how: 'commit' | 'rollback'): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    this.inBatch = 0;
    let broken: Error | undefined;
    try {
      await client.query(how);
    } catch (error) {
      broken = error as Error;
      if (how === 'commit') {
        this.lost = stagingLost(error);
        this.stop();
        this.log.warn({ err: error, stagedUpload: this.id }, 'a batch of staged chunks did not commit');
        throw this.lost;
      }
    } finally {
      client.release(broken);
    }
  }

  private startRenewing(): void {
    // A third of the lease: two renewals may fail (a busy database) before it runs out.
    // Skipped while chunks flow: each batch renews the lease itself.
    this.renewTimer = setInterval(() => {
      if (Date.now() - this.lastWriteAt < this.leaseMs / 3) return;
      void this.serial(async () => {
        if (this.client) return;
        try {
          await renewStaging(this.db.pool, this.id, this.heldUntil);
          this.renewedAt = Date.now();
        } catch (error) {
          if (error instanceof TallyError && error.code === 'SERVICE_UNAVAILABLE') {
            this.lost = error;
            this.stop();
          }
        }
      });
    }, this.leaseMs / 3);
    this.renewTimer.unref();
  }
}

/** The lease's last heartbeat that lets a staging live until `keepUntil`. */
function heldUntil(keepUntil: Date | undefined, leaseMs: number): Date | undefined {
  return keepUntil === undefined ? undefined : new Date(keepUntil.getTime() - leaseMs);
}
