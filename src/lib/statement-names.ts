import { createHash } from 'node:crypto';

/**
 * Names for the statements a process sends again and again, so that each connection parses
 * them once and PostgreSQL keeps their plan (a named prepared statement) instead of parsing,
 * analysing and planning the same text on every call.
 *
 * Why: a small job runs ~10 statements (kysely's and pg-boss's), all sent unnamed, and
 * `EXPLAIN (ANALYZE, SUMMARY)` put planning alone at 0.36–0.40 ms each against 0.08–0.63 ms of
 * execution (docs/performance.md, "Small jobs, 2026-12-04 evening").
 *
 * A text is named the second time it is seen, so a statement with literals inlined (different
 * text every call) never becomes a prepared statement that each connection keeps for its
 * life. At most `maxNames` texts are named per process; past that, new texts go unnamed.
 *
 * Only for connections that keep their session: behind a transaction pooler the next
 * statement may land on a server connection that never saw the Parse (db/database.ts decides).
 */
export class StatementNames {
  readonly #names = new Map<string, string>();
  /** Texts seen once. Cleared when full: a text seen twice within that window is the kind that repeats. */
  readonly #seenOnce = new Set<string>();

  constructor(
    private readonly maxNames = 500,
    // Texts held at most: 500 × a few KB (pg-boss's longest statements are ~3 KB).
    private readonly maxSeen = 500,
  ) {}

  /** The name to prepare `text` under, or undefined to send it unnamed this time. */
  nameFor(text: string): string | undefined {
    const named = this.#names.get(text);
    if (named !== undefined || this.#names.size >= this.maxNames) return named;
    if (!this.#seenOnce.has(text)) {
      if (this.#seenOnce.size >= this.maxSeen) this.#seenOnce.clear();
      this.#seenOnce.add(text);
      return undefined;
    }
    this.#seenOnce.delete(text);
    // The text's digest: the same name in every process for the same text, and two texts
    // never share a name (node-pg refuses a name reused for another text on one connection).
    const name = `t_${createHash('sha256').update(text).digest('base64url').slice(0, 27)}`;
    this.#names.set(text, name);
    return name;
  }
}

/** A query's arguments as node-pg takes them, named where `names` says so. */
export function withStatementName(names: StatementNames, args: unknown[]): unknown[] {
  const [text, values] = args;
  if (typeof text !== 'string' || !Array.isArray(values) || args.length > 2 || !preparable(text, values))
    return args;
  const name = names.nameFor(text);
  return name === undefined ? args : [{ name, text, values }];
}

/**
 * A statement with bind values goes by the extended protocol anyway (one statement, Parse,
 * Bind, Execute). One without (pg-boss's claim inlines its queue's name) goes by the simple
 * protocol, which also takes several statements in one text and commands with nothing to
 * plan (begin, commit, set): only a single query is worth a name.
 */
function preparable(text: string, values: unknown[]): boolean {
  return values.length > 0 || (!text.includes(';') && /^\s*(with|select|insert|update|delete)\b/i.test(text));
}

/** One per process: every pool of a process that keeps its sessions names the same texts alike. */
export const processStatementNames = new StatementNames();
