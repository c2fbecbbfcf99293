import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileDigest } from '../../src/files/file-digest.ts';
import { SuspendedDigests } from '../../src/files/suspended-digests.ts';

const digestOf = (...parts: string[]) => {
  const d = new FileDigest();
  for (const p of parts) d.update(Buffer.from(p));
  return d;
};

describe('SuspendedDigests', () => {
  it('hands a kept digest to the next resume, which continues it to the whole file’s SHA-256', () => {
    const digests = new SuspendedDigests();
    digests.keep('a', digestOf('id,amount\n', '1,2\n'));
    const resumed = digests.take('a', 14)!;
    resumed.update(Buffer.from('3,4\n'));
    const expected = createHash('sha256').update('id,amount\n1,2\n3,4\n').digest('hex');
    expect(resumed.digest()).toMatchObject({ bytes: 18, sha256: expected });
    expect(digests.take('a', 14)).toBeUndefined(); // given up: one staging uses it
  });

  it('gives nothing when the digest does not cover exactly the stored bytes', () => {
    const digests = new SuspendedDigests();
    digests.keep('a', digestOf('12345'));
    expect(digests.take('a', 4)).toBeUndefined();
    expect(digests.take('a', 5)).toBeUndefined(); // a mismatch gives it up too
  });

  it('keeps at most 256, dropping the longest suspended first', () => {
    const digests = new SuspendedDigests();
    for (let i = 0; i < 257; i++) digests.keep(`u${i}`, digestOf('x'));
    expect(digests.take('u0', 1)).toBeUndefined();
    expect(digests.take('u1', 1)).toBeDefined();
    expect(digests.take('u256', 1)).toBeDefined();
  });
});
