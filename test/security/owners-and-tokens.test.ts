import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { postCsv, trpcMutation, trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef00';
const asAlice = { authorization: `Bearer ${ALICE}` };
const asBob = { authorization: `Bearer ${BOB}` };
const CSV = 'date,amount,customer\n2024-01-05,10.00,x\n';

let tally: TestTally;
const logLines: string[] = [];

beforeAll(async () => {
  tally = await startTestTally({
    env: { API_TOKENS: `alice:${ALICE},bob:${BOB}`, UPLOAD_RATE_LIMIT_PER_MINUTE: '5', LOG_LEVEL: 'info' },
    logStream: new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
});
afterAll(() => tally?.stop());

describe('auth and owners (docs/reference.md, Security)', () => {
  it('401 without a token or with an unknown one', async () => {
    const none = await postCsv(tally.url, CSV);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    const wrong = await postCsv(tally.url, CSV, {
      headers: { authorization: 'Bearer not-a-real-token-at-all' },
    });
    expect(wrong.status).toBe(401);
    const status = await trpcQuery(tally.url, 'jobs.list', {});
    expect(status.status).toBe(401);
  });

  it('one owner never sees another’s job: NOT_FOUND for status, result, cancel, and absent from list', async () => {
    const upload = await postCsv(tally.url, CSV, { headers: asAlice });
    expect(upload.status).toBe(202);
    const jobId = upload.body.jobId as string;
    await waitForFinal(tally.url, jobId, asAlice);

    for (const path of ['jobs.status', 'jobs.result']) {
      const res = await trpcQuery(tally.url, path, { jobId }, asBob);
      expect(res.status).toBe(404);
      expect(res.body.error.data.code).toBe('NOT_FOUND');
    }
    const cancel = await trpcMutation(tally.url, 'jobs.cancel', { jobId }, asBob);
    expect(cancel.status).toBe(404);
    const bobsList = await trpcQuery(tally.url, 'jobs.list', {}, asBob);
    expect(bobsList.body.result.data.items).toEqual([]);
    const alicesList = await trpcQuery(tally.url, 'jobs.list', {}, asAlice);
    expect(alicesList.body.result.data.items.map((j: { id: string }) => j.id)).toContain(jobId);
  });

  it('the same Idempotency-Key from two owners makes two jobs', async () => {
    const headers = { 'idempotency-key': 'shared-key-1' };
    const a = await postCsv(tally.url, CSV, { headers: { ...asAlice, ...headers } });
    const b = await postCsv(tally.url, CSV, { headers: { ...asBob, ...headers } });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.jobId).not.toBe(b.body.jobId);
  });

  it('rate-limits uploads per owner with 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await postCsv(tally.url, CSV, { headers: asBob })).status);
    expect(statuses).toContain(429);
    // Alice's budget is her own.
    const alice = await postCsv(tally.url, CSV, { headers: asAlice });
    expect(alice.status).not.toBe(429);
  });

  it('never writes a token to the logs', () => {
    const all = logLines.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(ALICE);
    expect(all).not.toContain(BOB);
  });
});

describe('configuration refuses an open public listener', () => {
  it('will not start on 0.0.0.0 without API_TOKENS, naming the variable', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/API_TOKENS/);
  });

  it('names the bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ MAX_UPLOAD_BYTES: '1GB' })).toThrow(/MAX_UPLOAD_BYTES/);
    expect(() => loadConfig({ API_TOKENS: 'alice' })).toThrow(/API_TOKENS/);
  });
});
