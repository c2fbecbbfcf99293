import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { createLogger } from '../../src/logger.ts';

export interface BenchDatabase {
  url: string;
  /** What else a Tally process needs to reach it (LISTEN_DATABASE_URL when `url` is a pooler). */
  env?: Record<string, string>;
  drop(): Promise<void>;
}

export interface BenchServer {
  /** A fresh, empty database on the server; Tally migrates it when it starts. */
  createDatabase(): Promise<BenchDatabase>;
  describe: string;
  stop(): Promise<void>;
}

/** DATABASE_URL's server when set (e.g. the machine's PostgreSQL), else an embedded one. */
export async function benchServer(): Promise<BenchServer> {
  let adminUrl = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!adminUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-bench-pg-'));
    const embedded = await startEmbeddedPostgres(dir, createLogger('silent'));
    adminUrl = embedded.url;
    stop = async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const admin = adminUrl;
  const version = await query(admin, 'show server_version');
  return {
    describe: `PostgreSQL ${String(version.rows[0]?.server_version)}${process.env.DATABASE_URL ? ' (DATABASE_URL)' : ' (embedded)'}`,
    createDatabase: async () => {
      const name = `tally_bench_${randomBytes(5).toString('hex')}`;
      await query(admin, `create database ${name}`);
      const u = new URL(admin);
      u.pathname = `/${name}`;
      return {
        url: u.toString(),
        drop: async () => void (await query(admin, `drop database if exists ${name} with (force)`)),
      };
    },
    stop,
  };
}

async function query(url: string, text: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query<Record<string, unknown>>(text);
  } finally {
    await client.end();
  }
}
