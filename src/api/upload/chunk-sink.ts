import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { FILE_CHUNK_BYTES } from '../../db/jobs/file-chunks.ts';
import { HEAD_BYTES } from '../../lib/file-head.ts';
import type { UploadStaging } from './upload-staging.ts';

export interface ReceivedFile {
  bytes: number;
  sha256: string;
  /** The first HEAD_BYTES, for the upload check. */
  head: Buffer;
  /** The whole file when it was never staged (smaller than one chunk); else undefined. */
  unstaged: Buffer | undefined;
}

/**
 * Where the file part's bytes go: counted, hashed, the head kept, and cut into
 * FILE_CHUNK_BYTES chunks that are staged in PostgreSQL as they fill. One chunk insert is
 * in flight while the next chunk fills, so the body is read at the speed of the slower of
 * the two, not their sum; memory per upload is two chunks whatever the file size.
 */
export class ChunkSink extends Writable {
  private bytes = 0;
  private readonly hash = createHash('sha256');
  private readonly headParts: Buffer[] = [];
  private headBytes = 0;
  private current: Buffer = Buffer.allocUnsafe(FILE_CHUNK_BYTES);
  private filled = 0;
  private spare: Buffer | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly staging: UploadStaging) {
    super({ highWaterMark: 64 * 1024 });
  }

  /** Resolves once no chunk write is in flight (after success or failure). */
  settled(): Promise<void> {
    return this.inFlight.catch(() => undefined);
  }

  result(): ReceivedFile {
    return {
      bytes: this.bytes,
      sha256: this.hash.digest('hex'),
      head: Buffer.concat(this.headParts),
      unstaged: this.staging.chunks === 0 ? this.current.subarray(0, this.filled) : undefined,
    };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.take(chunk).then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    const last = async () => {
      await this.inFlight;
      // A file that fits in one chunk stays in memory for the upload transaction.
      if (this.staging.chunks > 0) {
        if (this.filled > 0) await this.staging.stage(this.current.subarray(0, this.filled));
        await this.staging.flush();
      }
    };
    last().then(() => done(), done);
  }

  private async take(chunk: Buffer): Promise<void> {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    if (this.headBytes < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.headBytes);
      this.headParts.push(Buffer.from(part)); // a copy: the chunk buffer is reused below
      this.headBytes += part.length;
    }
    let offset = 0;
    while (offset < chunk.length) {
      const n = chunk.copy(this.current, this.filled, offset);
      this.filled += n;
      offset += n;
      if (this.filled === FILE_CHUNK_BYTES) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    await this.inFlight; // at most one insert in flight; its error surfaces here
    const full = this.current;
    // Two buffers, used in turn: pg has sent a chunk's bytes once its insert resolves, so
    // the buffer can take the next chunk (a fresh 1 MiB per chunk grew the API's RSS with
    // the file size until the GC caught up).
    this.current = this.spare ?? Buffer.allocUnsafe(FILE_CHUNK_BYTES);
    this.spare = undefined;
    this.filled = 0;
    this.inFlight = this.staging.stage(full).then(() => {
      this.spare = full;
    });
    this.inFlight.catch(() => undefined); // observed by the next flush or _final
  }
}
