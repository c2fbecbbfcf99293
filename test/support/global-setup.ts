import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb } from '../../src/db/database.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';
import { startBoss } from '../../src/queue/boss.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
  }
}

/**
 * Finds a real PostgreSQL for the whole run, in the contract's order: DATABASE_URL, else
 * Testcontainers when a Docker engine answers, else an embedded PostgreSQL in a temp dir.
 * Then builds one template database with every migration (ours and pg-boss's), so each
 * test file can clone a fresh, fully migrated database in milliseconds.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', { component: 'test-setup' });
  const cleanups: (() => Promise<void>)[] = [];
  let adminUrl = process.env.DATABASE_URL;
  let source = 'DATABASE_URL';
  if (!adminUrl) {
    adminUrl = await tryTestcontainers(cleanups);
    source = 'Testcontainers';
  }
  if (!adminUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-test-pg-'));
    const embedded = await startEmbeddedPostgres(dir, log);
    cleanups.push(async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    });
    adminUrl = embedded.url;
    source = 'embedded PostgreSQL';
  }
  process.stdout.write(`[tally tests] PostgreSQL from ${source}\n`);

  const templateDatabase = `tally_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${templateDatabase}`);
  await admin.query(`create database ${templateDatabase}`);
  await admin.end();

  const templateUrl = withDatabase(adminUrl, templateDatabase);
  const db = createDb(templateUrl, { max: 2 });
  await migrateToLatest(db.kysely);
  await db.close();
  const boss = await startBoss(
    templateUrl,
    { heartbeatSeconds: 10, expireInSeconds: 60, retryLimit: 2, supervise: false },
    log,
  );
  await boss.stop({ graceful: false, close: true });

  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);

  return async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`drop database if exists ${templateDatabase} with (force)`).catch(() => undefined);
    await client.end();
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
}

async function tryTestcontainers(cleanups: (() => Promise<void>)[]): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  } catch {
    return undefined; // no Docker engine answers here
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:18').start();
  cleanups.push(async () => void (await container.stop()));
  return container.getConnectionUri();
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
