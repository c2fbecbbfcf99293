import { OwnerSlots } from '../owner-slots.ts';

/**
 * Counts the `jobs.watch` streams this process holds, per owner and in all: the sibling of
 * the long polls' bounds (src/api/long-poll-slots.ts), with its own limits because a stream
 * is held for a job's whole run (minutes), where a long poll is held for at most 25 s.
 * Each open stream is a socket, a LISTEN waiter and a suspended generator (watch-route.ts):
 * 1,000 idle streams on one job grow an API process by 34–39 MiB RSS (~35–40 KiB each)
 * and cost 1.4–1.6 % of one core for their heartbeats (bench R2, 2026-12-03, 2 shared
 * vCPUs under load; the defaults' 8,000 would be ~300 MiB).
 *
 * Past the owner's bound: 429 (that owner asks too much; the client falls back to long
 * polls, which have their own bound). Past the total: 503 (this process is full).
 */
export class WatchSlots extends OwnerSlots {
  constructor(limits: { perOwner: number; total: number }) {
    super(limits, {
      ownerHolds: (_mine, perOwner) =>
        `status streams open (WATCH_STREAMS_PER_OWNER=${perOwner}); close one, or poll jobs.status instead.`,
      processFull: (total) =>
        `The server is holding as many status streams as it allows (WATCH_STREAMS_MAX=${total}); retry shortly.`,
    });
  }
}
