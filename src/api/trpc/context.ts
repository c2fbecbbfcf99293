import type { Db } from '../../db/database.ts';
import type { ApiHooks } from '../api-hooks.ts';
import type { Authenticate } from '../auth.ts';
import type { JobChangeListener } from '../job-change-listener.ts';
import type { LongPollSlots } from '../long-poll-slots.ts';
import { StatusCache } from './status-cache.ts';
import type { Context } from './trpc.ts';
import type { WatchSlots } from './watch-slots.ts';

/** What every tRPC call of one server shares; built once per server by `createContext`. */
export interface ContextDeps {
  /** The requests' pool (statements end after DB_STATEMENT_TIMEOUT_MS). */
  requestDb: Db;
  /** What job-making mutations (jobs.rerun) write with: see `Context['jobCreation']`. */
  jobCreation: Context['jobCreation'];
  changes: JobChangeListener;
  longPolls: LongPollSlots;
  watches: WatchSlots;
  authenticate: Authenticate;
  draining: () => boolean;
  hooks: ApiHooks;
}

/** A context without the caller: what the status route reads with, and what each call extends. */
export type SharedContext = Omit<Context, 'authorization'>;

export interface TrpcContext {
  shared: SharedContext;
  /** tRPC's `createContext`: the shared pieces and the caller's Authorization header. */
  forRequest(authorization: string | undefined): Context;
}

/**
 * The one place a server's tRPC context is made. Its status cache is built here, once per
 * server, and handed to every procedure and to the plain status route, so polls, long
 * polls, watches and cancels see one cache (tests start several servers in one process:
 * each has its own).
 */
export function createContext(deps: ContextDeps): TrpcContext {
  const shared: SharedContext = {
    db: deps.requestDb,
    jobCreation: deps.jobCreation,
    changes: deps.changes,
    statusCache: new StatusCache(deps.changes),
    authenticate: deps.authenticate,
    longPolls: deps.longPolls,
    watches: deps.watches,
    draining: deps.draining,
    hooks: deps.hooks,
  };
  return { shared, forRequest: (authorization) => ({ ...shared, authorization }) };
}
