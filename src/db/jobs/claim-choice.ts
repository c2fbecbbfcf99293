/**
 * pg-boss's choice of entries in its plain claim (plans.js `fetchNextJob`): `next AS (SELECT
 * j.id FROM <table> j WHERE … ORDER BY <order> LIMIT <n> FOR UPDATE OF j SKIP LOCKED)`.
 */
const NEXT =
  /\bnext\s+AS\s+\(\s*SELECT\s+j\.id\s+FROM\s+([\w".]+)\s+j\s+WHERE\s+([\s\S]*?)\s+ORDER\s+BY\s+([^)]*?)\s+LIMIT\s+(\d+)\s+FOR\s+UPDATE\s+OF\s+j\s+SKIP\s+LOCKED\s*\)/i;

/** The parts of that choice: what the claim's own statement can reuse. */
export interface ClaimChoice {
  /** The whole `next AS (…)` text. */
  text: string;
  table: string;
  /** The condition, on entries aliased `j`. */
  where: string;
  /** pg-boss's order, on entries aliased `j`. */
  order: string;
  limit: number;
}

/** `claim`'s choice of entries, or undefined when `claim` is not shaped as expected. */
export function claimChoice(claim: string): ClaimChoice | undefined {
  const [text, table, where, order, limit] = NEXT.exec(claim) ?? [];
  if (!text || !table || !where || !order || !limit) return undefined;
  return { text, table, where, order, limit: Number(limit) };
}

/**
 * An entry's job id (`<entry>.data->>'jobId'`) as a uuid, or null when it is not one: such
 * an entry names no job, rather than failing the claim.
 */
export function entryJobId(entry: string): string {
  return `case when ${entry}.data->>'jobId' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
      then (${entry}.data->>'jobId')::uuid end`;
}
