'use client';

import type { AppRouter } from '@tally/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';

/** tRPC's own React integration, typed from the router type @tally/client publishes. */
export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
