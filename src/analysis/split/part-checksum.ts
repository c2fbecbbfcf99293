import { crc32 } from 'node:zlib';

/**
 * The check a part of a split file makes of its bytes: the CRC-32 the plan's scan took of
 * them (for each part but the last, which is read from the scan's own read). It tells a
 * part's own read of the stored file from the scan's, which the whole file's SHA-256 has
 * verified against the upload: a lost, repeated or changed byte or chunk. The SHA-256
 * stays the file's check; a part needs no more than S3's own per-part checksums give.
 *
 * Why not a SHA-256 of each part, as before: the scan hashed part 0's bytes twice (the
 * file's digest and the part's), and the part hashed them again; OpenSSL's SHA-256 runs at
 * ~540 MiB/s on a vCPU without SHA instructions (2026-12-04) and ~1.4 GiB/s with them,
 * zlib's CRC-32 at ~4.6 GiB/s (`crypto.createHash` against `zlib.crc32`, 1 GiB in 1 MiB
 * pieces, Node 24, 2 × Xeon, 2026-12-05): ~2 s of CPU per GiB split off the first kind.
 */
export class PartChecksum {
  private crc = 0;

  update(bytes: Buffer): void {
    this.crc = crc32(bytes, this.crc);
  }

  /** The CRC-32 of every byte so far (an unsigned 32-bit integer). */
  get value(): number {
    return this.crc;
  }
}
