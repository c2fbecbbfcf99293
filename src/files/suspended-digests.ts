import type { FileDigest } from './file-digest.ts';

/**
 * At most this many suspended uploads keep their digest in a process: each holds a hash
 * state and the file's head (HEAD_BYTES, 64 KiB), so 256 cost at most 16 MiB.
 */
const MAX_KEPT = 256;

/**
 * The running digests of resumable uploads between two requests, kept by the process that
 * served the last one. A tus client sends each PATCH to the same host more often than not;
 * that host then continues the SHA-256 where the last PATCH left it instead of reading the
 * whole stored file back at the end (bench P1r: 1 GiB in 64 MiB PATCHes read back 1 GiB
 * from the store before the job could be made). Another host, or a digest evicted here,
 * reads back as before: this is a shortcut, never the only way.
 *
 * A digest is handed over only when it covers exactly the bytes stored: it counts what it
 * hashed, and `take` compares that with the staging's committed offset.
 */
export class SuspendedDigests {
  private readonly kept = new Map<string, FileDigest>();

  /** Keeps `digest` for the staging `id`, suspended with every byte it hashed stored. */
  keep(id: string, digest: FileDigest): void {
    this.kept.delete(id);
    this.kept.set(id, digest);
    if (this.kept.size > MAX_KEPT) this.kept.delete(this.kept.keys().next().value!);
  }

  /** The digest of `id`'s first `offset` bytes, if this process holds it; it is given up either way. */
  take(id: string, offset: number): FileDigest | undefined {
    const digest = this.kept.get(id);
    this.kept.delete(id);
    return digest?.bytes === offset ? digest : undefined;
  }
}
