import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/db/embedded-postgres.ts';
import { createLogger } from '../../src/logger.ts';

// What `npm start` runs without DATABASE_URL, started for real in a temp directory.

let dir: string | undefined;
let embedded: EmbeddedPostgresHandle | undefined;
afterAll(async () => {
  await embedded?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Field 5 of /proc/<pid>/stat is the process group (after the parenthesised command name). */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

it('runs PostgreSQL in its own process group, so Ctrl-C reaches only Tally, which stops it last', async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-embedded-'));
  embedded = await startEmbeddedPostgres(dir, createLogger('silent'));
  const client = new pg.Client({ connectionString: embedded.url });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  await client.end();
  const postmaster = Number(
    readFileSync(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
  );
  expect(rows[0]?.pid).toBeGreaterThan(0);
  expect(processGroupOf(postmaster)).toBe(postmaster); // a group leader of its own
  expect(processGroupOf(postmaster)).not.toBe(processGroupOf(process.pid));
});
