import { claimChoice, entryJobId } from './claim-choice.ts';

/**
 * pg-boss's claim of up to n entries, narrowed so that a batch never puts a job behind a big
 * one: it takes the first entry in pg-boss's order whatever its size, and the entries after
 * it only while each is small (its job's stored file, uncompressed, at most `smallUpTo`
 * bytes: the files whose bytes come back with the claim, start-attempt.ts). The first big
 * entry after the first ends the batch; it and everything after it stay queued for the next
 * claim, in their order. So one claim takes one big job alone, or a run of small ones (which
 * a worker runs one after another in a few milliseconds), never two big ones and never a
 * small one after a big one.
 *
 * The entries pg-boss's condition chose are locked as before (FOR UPDATE SKIP LOCKED); the
 * ones left out are only locked until this statement ends. Undefined when `claim` is not
 * shaped as expected or takes one entry: run it unchanged (start-on-claim.ts then claims
 * one at a time).
 */
export function smallBatchClaim(claim: string, smallUpTo: number): string | undefined {
  if (!Number.isSafeInteger(smallUpTo) || smallUpTo < 0) throw new RangeError('smallUpTo');
  const next = claimChoice(claim);
  if (next === undefined || next.limit <= 1) return undefined;
  const { table, where, order, limit } = next;
  const small = `exists (select 1 from jobs s where s.id = ${entryJobId('j')}
        and s.bytes <= ${smallUpTo} and s.compression = 'none')`;
  // A window cannot sit beside FOR UPDATE, so the choice is made over the locked candidates;
  // aliased `j`, they take pg-boss's own order text unchanged.
  const narrowed = `tally_candidates AS MATERIALIZED (
        SELECT j.* FROM ${table} j WHERE ${where} ORDER BY ${order} LIMIT ${limit} FOR UPDATE OF j SKIP LOCKED
      ),
      next AS (
        SELECT c.id FROM (
          SELECT j.id, row_number() OVER w AS tally_n, bool_and(${small}) OVER w AS tally_small
          FROM tally_candidates j
          WINDOW w AS (ORDER BY ${order} ROWS UNBOUNDED PRECEDING)
        ) c
        WHERE c.tally_n = 1 OR c.tally_small
      )`;
  return claim.replace(next.text, () => narrowed); // a function: no $ patterns in the text
}
