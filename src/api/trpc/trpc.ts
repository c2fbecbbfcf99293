import { initTRPC, TRPCError } from '@trpc/server';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/database.ts';
import { isTransientDbError } from '../../db/transient-errors.ts';
import { TallyError } from '../../errors.ts';
import type { Authenticate } from '../auth.ts';
import type { JobChangeListener } from '../job-change-listener.ts';

/** Everything a procedure needs; `authorization` is resolved to an owner by `authedProcedure`. */
export interface Context {
  db: Db;
  /** Mutations that make jobs (jobs.rerun) queue them in the same transaction. */
  boss: PgBoss;
  changes: JobChangeListener;
  authenticate: Authenticate;
  authorization: string | undefined;
}

const t = initTRPC.context<Context>().create({
  // No transformer: plain JSON, so curl and any HTTP client can read the answers.
  isDev: false, // never send stack traces to clients
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * The database being away (restart, failover, cut connections) is a 503 the client can
 * retry, not a 500: polling clients keep polling through it.
 */
const databaseAvailability = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && isTransientDbError(result.error.cause)) {
    throw new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'The database is unavailable for a moment; retry shortly.',
      cause: result.error.cause,
    });
  }
  return result;
});

/** Resolves the bearer token to an owner and narrows the context to carry it. */
export const authedProcedure = t.procedure.use(databaseAvailability).use(({ ctx, next }) => {
  try {
    const owner = ctx.authenticate(ctx.authorization);
    return next({ ctx: { ...ctx, owner } });
  } catch (error) {
    if (error instanceof TallyError) throw new TRPCError({ code: 'UNAUTHORIZED', message: error.message });
    throw error;
  }
});
