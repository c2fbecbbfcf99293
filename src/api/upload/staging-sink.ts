import { Writable } from 'node:stream';
import type { StagedFile, Staging } from '../../files/stored-files.ts';

/**
 * The file part's bytes as a stream into a staging of the stored-bytes seam (whatever the
 * store): each write waits for the staging to take the bytes, so busboy is read at the
 * store's pace and memory stays flat; the end finishes the staging.
 */
export class StagingSink extends Writable {
  private pending: Promise<unknown> = Promise.resolve();
  private file: StagedFile | undefined;
  private waitingSince: number | undefined;
  private waitedMs = 0;

  constructor(private readonly staging: Staging) {
    super({ highWaterMark: 64 * 1024 });
  }

  /** Resolves once no staging operation is in flight (after success or failure). */
  settled(): Promise<void> {
    return this.pending.then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * Milliseconds spent so far waiting on the store (a write or the finish in flight): the
   * body is paused then by our own back-pressure, which the upload's idle and rate limits
   * must not count as the client's silence.
   */
  storeWaitMs(now = Date.now()): number {
    return this.waitedMs + (this.waitingSince === undefined ? 0 : now - this.waitingSince);
  }

  /** The staged file, once the stream has finished. */
  result(): StagedFile {
    if (!this.file) throw new Error('the staging has not finished');
    return this.file;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.track(this.staging.write(chunk)).then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.track(this.staging.finish()).then((file) => {
      this.file = file;
      done();
    }, done);
  }

  private track<T>(op: Promise<T>): Promise<T> {
    this.pending = op;
    const since = Date.now();
    this.waitingSince = since;
    const waited = () => {
      this.waitedMs += Date.now() - since;
      this.waitingSince = undefined;
    };
    op.then(waited, waited);
    return op;
  }
}
