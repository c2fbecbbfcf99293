import { createTRPCClient, httpLink } from '@trpc/client';
import { authHeaders, type ClientContext } from './context.ts';
import type { AppRouter } from './types.ts';

/**
 * The typed tRPC client. `httpLink`, not `httpBatchLink`: a long poll must not hold other
 * calls hostage in one batch, and one call is one HTTP request, so polls can be counted.
 */
export function createTrpc(ctx: ClientContext) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${ctx.baseUrl}/trpc`,
        fetch: ctx.fetch,
        headers: () => authHeaders(ctx),
      }),
    ],
  });
}

export type TallyTrpcClient = ReturnType<typeof createTrpc>;
