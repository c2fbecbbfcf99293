import type { FastifyInstance } from 'fastify';
import type { ApiHooks } from '../api/api-hooks.ts';
import { JobChangeListener } from '../api/job-change-listener.ts';
import { buildServer, type ApiOptions, type ApiServer } from '../api/server.ts';
import { createDb, createHealthDb } from '../db/database.ts';
import { onIdleConnectionLost, type RoleHandle, type SharedParts } from './shared.ts';

export interface ApiRoleOptions {
  server: ApiOptions;
  /** HOST, PORT */
  host: string;
  port: number;
  /** DB_STATEMENT_TIMEOUT_MS: the requests' pool. */
  statementTimeoutMs: number;
  /** SHUTDOWN_GRACE_MS: how long a stop waits for in-flight requests. */
  shutdownGraceMs: number;
  /** Fault-injection hooks for tests. */
  hooks?: ApiHooks | undefined;
  /** Extra Fastify plugins (the web UI). */
  plugins?: ((app: FastifyInstance) => void | Promise<void>)[] | undefined;
}

export interface ApiRole extends RoleHandle {
  url: string;
  app: FastifyInstance;
  /** The API's LISTEN connection. */
  changes: JobChangeListener;
}

/** The HTTP API: its LISTEN connection, its requests' pool, its probes' connection, the server. */
export async function startApiRole(shared: SharedParts, options: ApiRoleOptions): Promise<ApiRole> {
  const { urls, log } = shared;
  const onError = onIdleConnectionLost(log);
  const healthDb = createHealthDb(urls.pooled, onError, urls.transactionPooled);
  const changes = new JobChangeListener(urls.session, log);
  await changes.start();
  // tRPC's statements end after DB_STATEMENT_TIMEOUT_MS (a 503), so a locked table
  // cannot hold requests forever. A pool of their own: the workers' and the uploads'
  // long statements (a result, a stored file) are not requests to cut short.
  const requestDb = createDb(urls.pooled, {
    max: shared.poolMax,
    applicationName: 'tally-requests',
    statementTimeoutMs: options.statementTimeoutMs,
    transactionPooled: urls.transactionPooled,
    onError,
    log,
  });
  const api = await buildServer({
    options: options.server,
    db: shared.db,
    requestDb,
    healthDb,
    boss: shared.boss,
    files: shared.files,
    changes,
    log,
    isDraining: shared.isDraining,
    ...(options.hooks ? { hooks: options.hooks } : {}),
    plugins: options.plugins ?? [],
  });
  const url = await api.app.listen({ host: options.host, port: options.port });

  // Called once the process drains: new requests get 503 (uploads included) and /readyz
  // says so; waiting long polls are woken and answer at once, so in-flight requests end soon.
  const close = async () => {
    await changes.close();
    // Keep listening (answering 503) while in-flight requests — uploads — finish, so a
    // client arriving meanwhile is told to retry rather than refused a connection.
    await waitUntilAnswered(api, options.shutdownGraceMs);
    await api.app.close();
    await shared.stopQueue();
    await requestDb.close();
    await healthDb.close();
  };
  return { url, app: api.app, changes, close };
}

/** Resolves once every open request is answered, or after `timeoutMs`. */
async function waitUntilAnswered(api: ApiServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (api.openRequests() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
