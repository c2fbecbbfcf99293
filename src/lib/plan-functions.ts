import { createHash } from 'node:crypto';
import { escapeLiteral, type FieldDef, type QueryResult } from 'pg';
import type { Logger } from '../logger.ts';

/** Sends one statement on a connection (values bound as node-pg binds them). */
export type SendStatement = (text: string, values?: unknown[]) => Promise<QueryResult>;

/** A text's state: the call that runs it (and the command tag its own run answers), or why it runs as sent. */
type Route = { call: string; command: string } | 'defining' | 'plain';

/**
 * SQLSTATEs of a call that ran nothing (the statement failed as a whole): its function is
 * gone (42883: dropped, a restored database), or no longer fits its query's result (42804:
 * a column's type changed under it; 0A000: a cached plan whose result changed). The text
 * is then sent as written, and defined again if the function was gone.
 */
const GONE = '42883';
const UNFIT = new Set(['42804', '0A000']);

/** Texts a process keeps at most: each is a statement of Tally's or pg-boss's source. */
const MAX_ROUTES = 500;

/**
 * Statements sent again and again, behind a transaction pooler, run through a PL/pgSQL
 * function each, so that PostgreSQL plans them once per server connection instead of on
 * every call.
 *
 * Why: on a direct connection a repeated statement is a named prepared statement
 * (statement-names.ts) and keeps its plan. PgBouncer in transaction mode (1.18, as Debian
 * ships it; any pooler without prepared statements) hands each transaction to whichever
 * server connection is free, so statements go unnamed and are parsed and planned every time.
 * The analysis queue's claim (pg-boss's, with the attempt's start and the file's bytes:
 * worker/start-on-claim.ts) is a statement of five CTEs: `EXPLAIN (ANALYZE, SUMMARY)` put its
 * planning at 1.8–1.9 ms against 0.33–0.36 ms of execution (PostgreSQL 15, 2026-12-05); an
 * upload's insert and a job's final write are CTEs too. A function's `RETURN QUERY` keeps its
 * plan in the server connection's session, which the pooler keeps for the next client: called
 * through one, the same claim took 0.26–0.46 ms after its first call (5.3 ms).
 *
 * Only statements that answer rows (a SELECT, or INSERT/UPDATE/DELETE … RETURNING: their row
 * count is then the rows returned, and the command tag is put back) and whose text came a
 * second time. The first runs give the result's columns, a PREPARE in a transaction of its own
 * the parameters' types; the function (`tally_plan_<digest>`, in the first schema of the
 * search path, the one Tally's tables are in) is created if missing, under a transaction lock
 * so processes starting together create it once, and later runs of the text call it. Every
 * process sending a text uses the same function; a changed text gets its own. Where it cannot
 * be created (no CREATE on the schema, a read-only standby) the text runs as written, as before,
 * and a warning says so once; a statement of a shape no function returns (a pseudo-typed
 * column such as `void`, a parameter of unknown type) runs as written without one.
 */
export class PlanFunctions {
  readonly #routes = new Map<string, Route>();
  /** Texts seen once, cleared when full (as StatementNames does). */
  readonly #seenOnce = new Set<string>();
  #warned = false;
  #probes = 0;

  /** `define`: runs the definitions on a connection of their own (a pool's query). */
  constructor(
    private readonly define: SendStatement,
    private readonly log: Logger,
  ) {}

  /**
   * Runs `text` with `values` through `send`: through its function once there is one.
   * `retryable`: false when a failed call cannot be followed by the text itself (the
   * connection is in a transaction, which the failure aborted): its error is thrown.
   */
  async run(text: string, values: unknown[], send: SendStatement, retryable = true): Promise<QueryResult> {
    const route = this.#routes.get(text);
    if (typeof route === 'object') {
      try {
        const result = await send(route.call, values);
        result.command = route.command;
        return result;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === GONE) this.#routes.delete(text);
        else if (typeof code === 'string' && UNFIT.has(code)) this.#routes.set(text, 'plain');
        else throw error;
        if (!retryable) throw error;
        return send(text, values);
      }
    }
    const result = await send(text, values);
    if (route === undefined && this.#repeated(text) && answersRows(result)) {
      this.#routes.set(text, 'defining');
      // In the background: nothing waits for it; the text runs as written meanwhile.
      void this.#defineFor(text, result).then(
        (call) => this.#routes.set(text, { call, command: result.command }),
        (error: unknown) => {
          this.#routes.set(text, 'plain');
          // A statement of a shape a function cannot return (a `void` column, an untyped
          // parameter) is only left as written; the database refusing the function is news.
          if (error instanceof Unplannable)
            return this.log.debug({ reason: error.message }, 'statement left as written');
          if (this.#warned) return;
          this.#warned = true;
          this.log.warn(
            { err: error },
            'could not create a function for a repeated statement: behind the pooler it is planned on every call',
          );
        },
      );
    }
    return result;
  }

  /** Whether `text` came before (and there is room for another route). */
  #repeated(text: string): boolean {
    if (this.#routes.size >= MAX_ROUTES || text.includes(';')) return false;
    if (this.#seenOnce.delete(text)) return true;
    if (this.#seenOnce.size >= MAX_ROUTES) this.#seenOnce.clear();
    this.#seenOnce.add(text);
    return false;
  }

  /** Creates the function for `text` unless another process did; answers the call that runs it. */
  async #defineFor(text: string, { fields }: QueryResult): Promise<string> {
    const parameters = await this.#parameterTypes(text);
    const columns = await this.#columns(fields);
    const digest = createHash('sha256')
      .update(`${parameters.join(',')}\n${text}`)
      .digest('hex');
    const name = `tally_plan_${digest.slice(0, 32)}`;
    const signature = `${name}(${parameters.join(', ')})`;
    const body = escapeLiteral(`begin return query ${text}; end`);
    const tag = '$tally_plan$';
    if (body.includes(tag)) throw new Unplannable('the statement holds the quote of the definition');
    await this.define(`do ${tag}
      begin
        perform pg_advisory_xact_lock(hashtextextended('tally-plan-functions', 0));
        if to_regprocedure(${escapeLiteral(signature)}) is null then
          create function ${signature} returns setof record language plpgsql volatile as ${body};
          comment on function ${signature} is
            'Tally: a repeated statement with its plan kept per session behind a pooler (src/lib/plan-functions.ts)';
        end if;
      end ${tag}`);
    const args = parameters.map((_, i) => `$${i + 1}`).join(', ');
    return `select * from ${name}(${args}) as r(${columns})`;
  }

  /** The types PostgreSQL gives `text`'s parameters, from a PREPARE in a transaction of its own. */
  async #parameterTypes(text: string): Promise<string[]> {
    // A name of its own each time: PREPARE is not undone by a failed transaction, so a probe
    // that failed after it leaves its statement in that server connection's session.
    const probe = `tally_plan_probe_${process.pid}_${++this.#probes}`;
    const results = (await this.define(
      `prepare ${probe} as ${text}; ` +
        `select parameter_types::text[] as types from pg_prepared_statements where name = '${probe}'; ` +
        `deallocate ${probe}`,
    )) as unknown as QueryResult[];
    const types = (results[1]?.rows[0] as { types?: string[] } | undefined)?.types;
    if (types === undefined) throw new Error('PREPARE gave no parameter types');
    if (types.includes('unknown')) throw new Unplannable('a parameter of unknown type');
    return types;
  }

  /** The column definition list of a call: each column's name and exact type. */
  async #columns(fields: FieldDef[]): Promise<string> {
    const names = fields.map((f) => f.name);
    if (new Set(names).size !== names.length) throw new Unplannable('two columns of one name');
    const { rows } = await this.define(
      `select format_type(t.oid, nullif(f.m, -1)) as type, t.typtype = 'p' as pseudo
         from unnest($1::oid[], $2::int[]) with ordinality as f(t, m, i) join pg_type t on t.oid = f.t
         order by f.i`,
      [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)],
    );
    const types = rows as { type: string; pseudo: boolean }[];
    if (types.length !== fields.length || types.some((t) => t.pseudo))
      throw new Unplannable('a column of no fixed type');
    return names.map((n, i) => `"${n.replaceAll('"', '""')}" ${types[i]!.type}`).join(', ');
  }
}

/** Why a statement's shape keeps it out of a function (not a failure of the database). */
class Unplannable extends Error {}

/** A statement's result that is rows: a SELECT, or a data change with RETURNING. */
function answersRows(result: QueryResult): boolean {
  return (
    !Array.isArray(result) &&
    result.fields.length > 0 &&
    ['SELECT', 'INSERT', 'UPDATE', 'DELETE'].includes(result.command)
  );
}
