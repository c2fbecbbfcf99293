import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FILE_CHUNK_BYTES, readFileChunks } from '../../src/files/postgres/read-file-chunks.ts';
import { readFileRange } from '../../src/files/postgres/read-file-range.ts';
import { useTestDb } from '../support/app-db.ts';

// The worker's binary read of stored chunks (COPY … FORMAT binary), against a real
// PostgreSQL: every byte comes back as stored, whatever it is, in order, up to the last.

const testDb = useTestDb();

async function store(chunks: Buffer[]): Promise<string> {
  const id = randomUUID();
  for (const [seq, data] of chunks.entries()) {
    await testDb.db.pool.query('insert into job_file_chunks (job_id, seq, data) values ($1, $2, $3)', [
      id,
      seq,
      data,
    ]);
  }
  return id;
}

async function readAll(id: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of readFileChunks(testDb.db.pool, id)) out.push(Buffer.from(chunk));
  return out;
}

describe('readFileChunks', () => {
  it('returns a multi-chunk file byte for byte, including bytes that are not UTF-8, and its short last chunk', async () => {
    // Not valid UTF-8 anywhere: lone continuation bytes, a cut sequence, 0xff, NUL.
    const poison = Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28, 0x00, 0xed, 0xa0, 0x80, 0x1f, 0x8b]);
    const first = Buffer.concat([poison, randomBytes(FILE_CHUNK_BYTES - poison.length)]);
    const second = randomBytes(FILE_CHUNK_BYTES);
    const last = Buffer.concat([randomBytes(777), poison]);
    const id = await store([first, second, last]);
    // The pieces are as COPY delivered them (not joined per chunk); the bytes are the file's.
    const read = Buffer.concat(await readAll(id));
    expect(read.length).toBe(2 * FILE_CHUNK_BYTES + 777 + poison.length);
    expect(read.equals(Buffer.concat([first, second, last]))).toBe(true);
    expect(read.subarray(-poison.length).equals(poison)).toBe(true);
  });

  it('refuses an id that is not a UUID before writing it into a COPY, in both readers', async () => {
    const forged = `${randomUUID()}' or true --`;
    await expect(readAll(forged)).rejects.toThrow(/^not a job id/);
    await expect(
      (async () => {
        for await (const _ of readFileRange(testDb.db.pool, forged, 0, 10));
      })(),
    ).rejects.toThrow(/^not a job id/);
  });

  it('returns a one-chunk file, and nothing for a job whose bytes are gone', async () => {
    const only = Buffer.from('date,amount\n2024-01-01,1\n\u00ff', 'latin1');
    expect(Buffer.concat(await readAll(await store([only])))).toEqual(only);
    expect(await readAll(randomUUID())).toEqual([]);
  });

  it('stops at a missing chunk: the read ends before it, it does not go on past the gap', async () => {
    const chunks = Array.from({ length: 19 }, (_, k) => randomBytes(100 + k));
    const id = await store(chunks);
    expect(Buffer.concat(await readAll(id)).equals(Buffer.concat(chunks))).toBe(true);
    // A lost chunk: the length check after the read then fails the job (FILE_CORRUPT).
    await testDb.db.pool.query('delete from job_file_chunks where job_id = $1 and seq = 10', [id]);
    expect(Buffer.concat(await readAll(id)).equals(Buffer.concat(chunks.slice(0, 10)))).toBe(true);
  });

  it('gives its connections back to the pool', async () => {
    const id = await store([randomBytes(10), randomBytes(10), randomBytes(10)]);
    for (let i = 0; i < 5; i++) await readAll(id);
    expect(testDb.db.pool.totalCount - testDb.db.pool.idleCount).toBe(0);
  });
});

describe('readFileRange', () => {
  it('returns exactly bytes [start, end) of a file of many chunks, whatever the cuts', async () => {
    const chunks = Array.from({ length: 11 }, (_, k) => randomBytes(50 + 7 * k));
    const whole = Buffer.concat(chunks);
    const id = await store(chunks);
    const cuts: [number, number][] = [
      [0, whole.length],
      [1, whole.length - 1],
      [50, 50 + 57], // exactly the second chunk
      [120, 121],
      [whole.length - 3, whole.length],
    ];
    for (const [start, end] of cuts) {
      const read: Buffer[] = [];
      for await (const piece of readFileRange(testDb.db.pool, id, start, end)) read.push(Buffer.from(piece));
      expect(Buffer.concat(read).equals(whole.subarray(start, end))).toBe(true);
    }
  });
});
