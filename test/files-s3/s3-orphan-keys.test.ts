import { PutObjectCommand } from '@aws-sdk/client-s3';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { S3OrphanSweep } from '../../src/files/s3-orphan-sweep.ts';
import { useTestDb } from '../support/app-db.ts';
import { insertTestJob } from '../support/job-factory.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';

// The sweep deletes what a crash left under S3_PREFIX: objects named by an id (a job's, or a
// staging's and its `.tail`) that nothing owns. A bucket is often shared, and the prefix may
// hold anything else an operator put there: only keys of exactly that shape are candidates.

const testDb = useTestDb({ max: 2 });
let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.stop();
});

async function put(key: string): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'x' }));
}

describe('the S3 orphan sweep', () => {
  test('deletes unowned id-named objects and their tails, and leaves every other key under the prefix', async () => {
    const { prefix } = s3;
    const owned = await insertTestJob(testDb.db.pool, { state: 'completed' });
    const orphan = uuidv7();
    const keep = [
      `${prefix}${owned}`,
      `${prefix}notes/${uuidv7()}`,
      `${prefix}${uuidv7()}.bak`,
      `${prefix}${uuidv7()}.tail.old`,
      `${prefix}not-an-id`,
      `${prefix}${orphan.slice(0, -1)}`, // one character short of an id
    ];
    for (const key of [...keep, `${prefix}${orphan}`, `${prefix}${uuidv7()}.tail`]) await put(key);

    const sweep = new S3OrphanSweep({
      s3: s3.client,
      settings: s3.settings,
      db: testDb.db,
      leaseMs: 0, // every object is old enough: only ownership and the key's shape decide
      log: createLogger('silent'),
    });
    await sweep.run([]);

    expect((await s3.keys()).sort()).toEqual([...keep].sort());
  });
});
