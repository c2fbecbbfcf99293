import { jobsRouter } from './jobs-router.ts';
import { router } from './trpc.ts';

export const appRouter = router({ jobs: jobsRouter });

/** The one type clients import: everything they see is inferred from it. */
export type AppRouter = typeof appRouter;
