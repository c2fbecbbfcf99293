import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { authHeaders, type ClientContext } from './context.ts';
import { fetchEventSourceClass, type FetchEventSourceInit, type SseReport } from './fetch-event-source.ts';
import type { AppRouter } from './types.ts';

/**
 * The typed tRPC client. `httpLink`, not `httpBatchLink`: a long poll must not hold other
 * calls hostage in one batch, and one call is one HTTP request, so polls can be counted.
 * Subscriptions (jobs.watch) go over SSE with a fetch-based EventSource that sends the
 * token as a header, never in the URL (see fetch-event-source.ts).
 */
export function createTrpc(ctx: ClientContext) {
  const url = `${ctx.baseUrl}/trpc`;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          EventSource: fetchEventSourceClass(ctx),
          // The caller's report (watchJob's) rides in the operation's context.
          eventSourceOptions: ({ op }): FetchEventSourceInit => {
            const report = op.context['sse'] as SseReport | undefined;
            return report ? { report } : {};
          },
        }),
        false: httpLink({ url, fetch: ctx.fetch, headers: () => authHeaders(ctx) }),
      }),
    ],
  });
}

export type TallyTrpcClient = ReturnType<typeof createTrpc>;
