/**
 * V8's young generation per role: the `--max-semi-space-size` (MiB) each start command
 * passes to node. package.json's start scripts, the Dockerfile's NODE_OPTIONS and
 * docker-compose.yml's services carry these numbers (test/deploy/young-generation.test.ts
 * checks they agree); bench/support/processes.ts starts its roles with them.
 *
 * Node 24 lets the young generation grow past 16 MiB a semi-space on a machine with memory
 * to spare, and what is dead there stays resident until a scavenge: the file chunks an
 * upload streams through and the rows a worker parses die young, so the peak RSS follows the
 * young generation's size, not the work. Measured 2026-12-05 (2 × AMD EPYC, 23.5 GiB):
 * - API, `npx tsx bench/s3-upload.bench.ts` (1 GiB into S3, P1s-rss, peak after 1 GiB):
 *   269–281 MiB with V8's default (three runs), 248–267 at 16 (two), 231–265 at 8 (three, one
 *   of them the full bench), 221 at 4; API CPU per GiB 4.4–5.3 s in every case; jobs.status
 *   capacity (P4e) 16,705–17,367 req/s at 8 against 16,442–18,433 otherwise, and its p99s
 *   (P4b, P4d) as noisy at 8 as at 16 (12.1–20.0 and 127–147 ms against 9.4–21.4 and 158).
 * - Worker, `npx tsx bench/run.ts --only C` (1 GiB): with 10M customers peak RSS 399–406 MiB
 *   with the default, 266–282 at 16, 304–312 at 8; CPU 55.5 s, 57.1–57.9 and 60.9–63.0 s;
 *   with 100k customers 35.2, 33.4–33.5 and 39.9–40.1 s: at 8 the parser's short-lived rows
 *   are scavenged too often, at 16 the worker costs what it did.
 * So 8 for an API process, 16 for a worker and for one process that is both.
 */
export const SEMI_SPACE_MIB = { api: 8, worker: 16, all: 16 } as const;

export type RoleName = keyof typeof SEMI_SPACE_MIB;

/** The node option a process of `role` starts with. */
export function youngGenerationOption(role: RoleName): string {
  return `--max-semi-space-size=${SEMI_SPACE_MIB[role]}`;
}
