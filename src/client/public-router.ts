import type { AnyTRPCProcedure, AnyTRPCRouter, TRPCBuiltRouter } from '@trpc/server';
import type { AppRouter as ServerRouter } from '../api/trpc/app-router.ts';

type RecordOnly<T> = T extends infer O
  ? { [K in keyof O]: O[K] extends AnyTRPCProcedure ? O[K] : RecordOnly<O[K]> }
  : never;
type RootOf<R extends AnyTRPCRouter> = R['_def']['_config']['$types'];

declare function clientView<R extends AnyTRPCRouter>(): TRPCBuiltRouter<
  { ctx: object; meta: RootOf<R>['meta']; errorShape: RootOf<R>['errorShape']; transformer: RootOf<R>['transformer'] },
  RecordOnly<R['_def']['record']>
>;
export const publicRouter = clientView<ServerRouter>();
export type AppRouter = typeof publicRouter;
