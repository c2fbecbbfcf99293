import pg from 'pg';
import type { Logger } from '../logger.ts';

/**
 * One LISTEN connection per API process, fanned out in memory to long-polling requests.
 * The jobs table's trigger NOTIFYs on every visible change, from whichever host made it,
 * so a waiting client hears of a change within milliseconds.
 *
 * While the connection is down (database restart), waits fall back to short re-checks, so
 * a long poll is never blind for longer than FALLBACK_RECHECK_MS.
 */
const CHANNEL = 'tally_job_changed';
const FALLBACK_RECHECK_MS = 500;

/**
 * What a notification says about a job (migration 0012): its new version and, unless the
 * row was too long for a notification, the status row as JSON (parsed only by those who
 * use it: src/jobs/notified-status.ts).
 */
export interface JobChange {
  version: number;
  status: string | undefined;
}

/** Called with the change, or with nothing when the job may have changed (a reconnect, a close). */
type Wake = (change?: JobChange) => void;

/** `<id>:<version>[:<json>]` → the job's id and its change. */
function parsePayload(payload: string): { jobId: string; change: JobChange | undefined } {
  const idEnd = payload.indexOf(':');
  if (idEnd < 0) return { jobId: payload, change: undefined };
  const versionEnd = payload.indexOf(':', idEnd + 1);
  const version = Number(payload.slice(idEnd + 1, versionEnd < 0 ? undefined : versionEnd));
  const change = Number.isInteger(version)
    ? { version, status: versionEnd < 0 ? undefined : payload.slice(versionEnd + 1) }
    : undefined;
  return { jobId: payload.slice(0, idEnd), change };
}

/**
 * TCP keepalive on the LISTEN connection, first probe after this much silence. The
 * connection only receives (NOTIFYs): if its peer vanishes without a FIN or RST (a NAT or
 * load balancer dropping the flow, a host powered off) nothing is ever written, so without
 * keepalive the socket looks healthy forever and every long poll waits its full waitMs
 * for changes that no longer arrive. With it the kernel probes after 10 s idle and, with
 * Linux's defaults (tcp_keepalive_intvl 75 s × tcp_keepalive_probes 9), declares the peer
 * dead within ~11.5 min; pg then emits 'error' and we reconnect. Most proxies also count
 * the probes as traffic, so an idle LISTEN is not cut by an idle timeout in the first place.
 */
export const LISTEN_KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** The LISTEN client's settings (exported for the test that checks keepalive is on). */
export function listenClientConfig(connectionString: string): pg.ClientConfig {
  return {
    connectionString,
    application_name: 'tally-listen',
    keepAlive: true,
    keepAliveInitialDelayMillis: LISTEN_KEEPALIVE_INITIAL_DELAY_MS,
  };
}

/**
 * A long poll's interest in one job, taken BEFORE it reads the row: a notification that
 * arrives while the read is in flight is kept, so `next` returns at once and the caller
 * reads again. (Subscribing after the read loses it: the NOTIFY rides the LISTEN
 * connection, the SELECT another one, and either can arrive first.)
 */
export interface JobSubscription {
  /** Resolves on the first change since the last `next` (at once if one came meanwhile), after `timeoutMs`, or on abort. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

export class JobChangeListener {
  /**
   * Waiters by job id. A Set per job rather than an EventEmitter: with 5,000 long polls
   * on one job, EventEmitter's `off` scans the listener array (O(n) each, O(n²) for the
   * herd to leave); a Set deletes in O(1).
   */
  readonly #waiters = new Map<string, Set<Wake>>();
  #client: pg.Client | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {}

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** Long polls waiting right now (the gauge and the bounds read it). */
  get waiting(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(listenClientConfig(this.connectionString));
    client.on('error', (error) => {
      this.log.warn({ err: error }, 'job change listener lost its connection; reconnecting');
      this.#dropAndRetry(client);
    });
    client.on('end', () => this.#dropAndRetry(client));
    client.on('notification', (msg) => {
      if (!msg.payload) return;
      const { jobId, change } = parsePayload(msg.payload);
      if (jobId) this.#wake(jobId, change);
    });
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
      this.#client = client;
      // Anything that changed while we were away: wake every waiter to re-read.
      this.#wakeAll();
    } catch (error) {
      this.log.warn({ err: error }, 'job change listener could not connect; retrying');
      this.#dropAndRetry(client);
    }
  }

  #wake(jobId: string, change?: JobChange): void {
    const set = this.#waiters.get(jobId);
    if (!set) return;
    // A copy: a waker may unsubscribe (and others subscribe) while we iterate.
    for (const wake of [...set]) wake(change);
  }

  #wakeAll(): void {
    for (const jobId of [...this.#waiters.keys()]) this.#wake(jobId);
  }

  #add(jobId: string, wake: Wake): void {
    let set = this.#waiters.get(jobId);
    if (!set) this.#waiters.set(jobId, (set = new Set()));
    set.add(wake);
  }

  #remove(jobId: string, wake: Wake): void {
    const set = this.#waiters.get(jobId);
    if (!set) return;
    set.delete(wake);
    if (set.size === 0) this.#waiters.delete(jobId);
  }

  #dropAndRetry(client: pg.Client): void {
    if (this.#client === client) this.#client = undefined;
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.#closed || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed) void this.#connect();
    }, 1000);
  }

  /** Call before reading the job; see JobSubscription. */
  subscribe(jobId: string): JobSubscription {
    let changed = false;
    let resolveWait: (() => void) | undefined;
    const wake = () => {
      changed = true;
      resolveWait?.();
    };
    this.#add(jobId, wake);
    return {
      next: (timeoutMs, signal) =>
        new Promise<void>((resolve) => {
          if (changed || signal?.aborted || this.#closed) {
            changed = false;
            resolve();
            return;
          }
          const wait = this.connected ? timeoutMs : Math.min(timeoutMs, FALLBACK_RECHECK_MS);
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            resolveWait = undefined;
            changed = false;
            resolve();
          };
          const timer = setTimeout(done, wait);
          resolveWait = done;
          signal?.addEventListener('abort', done, { once: true });
        }),
      close: () => {
        resolveWait?.();
        this.#remove(jobId, wake);
      },
    };
  }

  /**
   * Calls `onChange` synchronously, inside the notification's dispatch, each time `jobId`
   * may have changed, with what the notification said (nothing on a reconnect or a close).
   * Synchronous on purpose: the status cache replaces or drops its entry here, so a waiter
   * woken by the same NOTIFY (its continuation runs after the dispatch, as a microtask) can
   * never read the stale entry again. Returns the unwatch function.
   */
  watch(jobId: string, onChange: (change?: JobChange) => void): () => void {
    this.#add(jobId, onChange);
    return () => this.#remove(jobId, onChange);
  }

  /** Resolves when `jobId` may have changed, after `timeoutMs`, or when `signal` aborts. */
  async waitForChange(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const subscription = this.subscribe(jobId);
    try {
      await subscription.next(timeoutMs, signal);
    } finally {
      subscription.close();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#wakeAll();
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
