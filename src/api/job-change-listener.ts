import { EventEmitter } from 'node:events';
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

export class JobChangeListener {
  readonly #events = new EventEmitter();
  #client: pg.Client | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {
    this.#events.setMaxListeners(0); // thousands of concurrent long polls are expected
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: 'tally-listen',
    });
    client.on('error', (error) => {
      this.log.warn({ err: error }, 'job change listener lost its connection; reconnecting');
      this.#dropAndRetry(client);
    });
    client.on('end', () => this.#dropAndRetry(client));
    client.on('notification', (msg) => {
      const jobId = msg.payload?.split(':')[0];
      if (jobId) this.#events.emit(jobId);
    });
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
      this.#client = client;
      // Anything that changed while we were away: wake every waiter to re-read.
      this.#events.emit('*');
    } catch (error) {
      this.log.warn({ err: error }, 'job change listener could not connect; retrying');
      this.#dropAndRetry(client);
    }
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

  /** Resolves when `jobId` may have changed, after `timeoutMs`, or when `signal` aborts. */
  waitForChange(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wait = this.connected ? timeoutMs : Math.min(timeoutMs, FALLBACK_RECHECK_MS);
      const done = () => {
        clearTimeout(timer);
        this.#events.off(jobId, done);
        this.#events.off('*', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      this.#events.on(jobId, done);
      this.#events.on('*', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#events.emit('*');
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
