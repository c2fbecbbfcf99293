import BossDb from 'pg-boss/dist/db.js';
import { TallyBossDb, type BossDbConfig, type TallyBossDbHooks } from './boss-db.ts';

/**
 * pg-boss's own connection pool, with its LISTEN connection on another URL: behind a
 * transaction pooler a LISTEN lands on a server connection that is handed to someone else
 * after the statement, so notifications never arrive ("LISTEN silently dead behind
 * PgBouncer"), while every other pg-boss statement is a transaction and pools fine.
 * pg-boss 12 has no option for this; its `db` option takes an adapter, and a subclass of its
 * own Db keeps everything else (events, pool counts, transactions) as it is.
 */
export class SplitListenDb extends TallyBossDb {
  readonly #listenDb: BossDb;

  constructor(config: BossDbConfig, listenConnectionString: string, hooks: TallyBossDbHooks = {}) {
    super(config, hooks);
    // Its own application_name, so pg_stat_activity tells the direct listener from the pool.
    this.#listenDb = new BossDb({
      ...config,
      connectionString: listenConnectionString,
      max: 1,
      application_name: `${config.application_name ?? 'pgboss'}-listen`,
    });
    // The listener's drops (and reconnects) surface as pg-boss 'error' events, as before.
    this.#listenDb.on('error', (error: unknown) => this.emit('error', error));
  }

  override async open(): Promise<void> {
    await super.open();
    // Opens an idle pool of its own (never used: listen() makes a dedicated client).
    await this.#listenDb.open();
  }

  override async close(): Promise<void> {
    await super.close();
    if (this.#listenDb.opened) await this.#listenDb.close();
  }

  override listen(
    ...[channel, onNotification, onReconnect]: Parameters<BossDb['listen']>
  ): ReturnType<BossDb['listen']> {
    return this.#listenDb.listen(channel, ...this.counted(onNotification, onReconnect));
  }
}
