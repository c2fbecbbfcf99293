import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { TallyError } from '../../errors.ts';
import { formatBytes } from '../../lib/format-bytes.ts';
import { spillEntryName } from './spill-dir.ts';
import type { SpillRun, SpillStore } from './spill-store.ts';

interface FileRun extends SpillRun {
  readonly file: string;
}

/**
 * Spill runs as files in a private directory of one analysis, `<SPILL_DIR>/<host>-<pid>-<uuid>/`
 * (0700, files 0600), made on the first write and removed whole by `close()`. A process
 * killed before `close()` leaves the directory behind; `prepareSpillDir` at the next
 * start-up removes directories whose pid is dead in this pid namespace.
 *
 * Synchronous I/O on purpose: a run is written in one piece when a table fills up (a few
 * MB, ~10 ms into the page cache) and read one partition at a time while merging; the
 * aggregation is synchronous code, and nothing else waits on these calls.
 */
export class FileSpillStore implements SpillStore {
  readonly dir: string;
  private made = false;
  private runs = 0;
  /** Bytes of runs not yet removed; bounded by `maxBytes`. */
  liveBytes = 0;
  /** Bytes ever written (for logs and tests). */
  bytesWritten = 0;
  private scratch = Buffer.alloc(0);

  constructor(
    spillRoot: string,
    private readonly maxBytes: number,
  ) {
    this.dir = path.join(spillRoot, spillEntryName());
  }

  write(pieces: readonly Uint8Array[], bounds: Int32Array): SpillRun {
    const length = bounds[bounds.length - 1]!;
    if (this.liveBytes + length > this.maxBytes) {
      throw new TallyError(
        'ANALYSIS_TOO_LARGE',
        `The file has too many distinct customers, products or regions to analyse within the ` +
          `${formatBytes(this.maxBytes)} of temporary disk space allowed (SPILL_MAX_BYTES). ` +
          'Split the file into smaller exports, or ask the operator to raise SPILL_MAX_BYTES.',
      );
    }
    if (!this.made) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.made = true;
    }
    const file = path.join(this.dir, `run-${this.runs++}.bin`);
    const fd = openSync(file, 'wx', 0o600);
    try {
      for (const bytes of pieces) {
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      }
    } finally {
      closeSync(fd);
    }
    this.liveBytes += length;
    this.bytesWritten += length;
    const run: FileRun = { file, bounds: bounds.slice() };
    return run;
  }

  read(run: SpillRun, part: number): Buffer {
    const { file, bounds } = run as FileRun;
    const start = bounds[part]!;
    const length = bounds[part + 1]! - start;
    // One growing scratch buffer for every read (a merge consumes a segment before it
    // reads the next): per-read buffers of varying size fragmented the allocator.
    if (this.scratch.length < length)
      this.scratch = Buffer.allocUnsafe(Math.max(length, this.scratch.length * 2));
    const buf = this.scratch.subarray(0, length);
    if (length === 0) return buf;
    const fd = openSync(file, 'r');
    try {
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, start + got);
        if (n === 0) throw new Error(`spill file ${file} is shorter than written`);
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    return buf;
  }

  remove(run: SpillRun): void {
    const { file, bounds } = run as FileRun;
    rmSync(file, { force: true });
    this.liveBytes -= bounds[bounds.length - 1]!;
  }

  /** Removes the directory and everything in it; safe to call more than once. */
  close(): void {
    if (this.made) rmSync(this.dir, { recursive: true, force: true });
    this.made = false;
    this.liveBytes = 0;
    this.scratch = Buffer.alloc(0);
  }
}
