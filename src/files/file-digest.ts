import { createHash, type Hash } from 'node:crypto';
import { HEAD_BYTES } from '../lib/file-head.ts';

/**
 * What every store learns about a file as its bytes go by: the size, the SHA-256 and the
 * head (the first HEAD_BYTES, for the upload's check). One pass; the head is copied, as the
 * caller's buffers are reused.
 */
export class FileDigest {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly headParts: Buffer[] = [];
  private headBytes = 0;

  update(data: Buffer): void {
    this.bytes += data.length;
    this.hash.update(data);
    if (this.headBytes < HEAD_BYTES) {
      const part = data.subarray(0, HEAD_BYTES - this.headBytes);
      this.headParts.push(Buffer.from(part));
      this.headBytes += part.length;
    }
  }

  /** Ends the digest (once). */
  digest(): { bytes: number; sha256: string; head: Buffer } {
    return { bytes: this.bytes, sha256: this.hash.digest('hex'), head: Buffer.concat(this.headParts) };
  }
}

/** The digest of stored bytes read back: how a resumed staging learns its SHA-256. */
export async function digestOf(source: AsyncIterable<Buffer>): Promise<ReturnType<FileDigest['digest']>> {
  const digest = new FileDigest();
  for await (const data of source) digest.update(data);
  return digest.digest();
}
