import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { Db } from '../../db/database.ts';
import {
  beginStagingBatch,
  discardStaging,
  insertChunk,
  insertFirstChunk,
  renewStaging,
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

/**
 * One upload's staged chunks in PostgreSQL, under the id its job will get. Nothing is
 * written until the first full chunk: a file smaller than a chunk is never staged and is
 * stored by the upload transaction itself (one statement instead of a staging, for P5).
 *
 * Chunks are written in batches on one pool client, each batch a transaction; between
 * batches the client goes back to the pool. Operations run one at a time, in order.
 */
export class UploadStaging {
  readonly id = uuidv7();
  /** Chunks written so far (seq 0 … chunks-1); committed once `flush` resolves. */
  chunks = 0;
  private touched = false;
  private lost: Error | undefined;
  private client: pg.PoolClient | undefined;
  private inBatch = 0;
  private queue: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private lastWriteAt = 0;

  constructor(
    private readonly db: Db,
    private readonly leaseMs: number,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  /** Writes the next chunk (within the open batch; commits it when full). */
  stage(data: Buffer): Promise<void> {
    return this.serial(async () => {
      if (this.lost) throw this.lost;
      clearTimeout(this.idleTimer);
      this.touched = true;
      const client = await this.openBatch();
      if (this.chunks === 0) {
        await insertFirstChunk(client, this.id, thisProcess, data);
        this.startRenewing();
      } else {
        await insertChunk(client, this.id, this.chunks, data);
      }
      this.chunks += 1;
      this.lastWriteAt = Date.now();
      if (this.batchIsDue()) await this.commitBatch();
      else
        this.idleTimer = setTimeout(
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
    return this.serial(() => this.commitBatch());
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
      if (this.chunks > 0) await renewStaging(client, this.id);
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
      if (how === 'commit') throw error;
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
          await renewStaging(this.db.pool, this.id);
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
