import type { JobStatusRow } from '../../jobs/job-status.ts';
import type { JobChange, JobChangeListener } from '../job-change-listener.ts';
import { parseNotifiedStatus } from '../../jobs/notified-status.ts';

/**
 * Status rows held in memory between changes, so a poll that finds nothing new does not
 * cost a round trip to PostgreSQL.
 *
 * Why: under 1,000 pollers the API spent ~25 % of its busy time in pg (the query's write
 * syscall and the answer's parse) and PostgreSQL competed for the same two cores.
 * bench/status.bench.ts, closed loop: 3,219 → 4,135 req/s (floor, bare SELECT: 7,600).
 *
 * Correct because every change a client can see bumps `version` and NOTIFYs (the jobs
 * trigger), and the one LISTEN connection of this process is already there for long polls:
 * an entry takes the row its job's notification carries, or is dropped (a notification
 * without the row, a reconnect), and is dropped TTL_MS after its read whatever it took.
 * Its watcher is registered before the SELECT is sent, so a commit the SELECT may have
 * missed always drops the entry. While the listener is down nothing is served from memory.
 * A change made by another process shows once its NOTIFY arrives (~1 ms), not before.
 *
 * It is also the single flight of a herd: every waiter of a job woken by one NOTIFY asks
 * here, the first one's load becomes the entry and the rest share it — one SELECT per
 * change, not one per waiter. (Each waiter used to drop the entry after waking, so the
 * herd re-read ~N/2 times: 5,000 waiters, delivery p50 1.0 s.)
 */
const TTL_MS = 2000;

interface Entry {
  owner: string;
  row: Promise<JobStatusRow | undefined>;
  /** The row once read (or taken from a notification); undefined while the read is in flight. */
  value: JobStatusRow | undefined;
  timer: NodeJS.Timeout | undefined;
  unwatch: () => void;
}

export class StatusCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly changes: JobChangeListener) {}

  read(owner: string, jobId: string, load: () => Promise<JobStatusRow | undefined>) {
    if (!this.changes.connected) return load();
    const hit = this.#entries.get(jobId);
    if (hit) return hit.owner === owner ? hit.row : load(); // another owner: no sharing
    const entry: Entry = {
      owner,
      row: Promise.resolve(undefined),
      value: undefined,
      timer: undefined,
      unwatch: () => {},
    };
    // Watch before the SELECT is sent: a commit it may miss replaces or drops the entry.
    entry.unwatch = this.changes.watch(jobId, (change) => this.#changed(jobId, entry, change));
    entry.timer = setTimeout(() => this.#drop(jobId, entry), TTL_MS);
    entry.row = load();
    this.#entries.set(jobId, entry);
    // Missing jobs and failed reads are not kept.
    entry.row.then(
      (row) => {
        if (!row) this.#drop(jobId, entry);
        else entry.value ??= row;
      },
      () => this.#drop(jobId, entry),
    );
    return entry.row;
  }

  /**
   * After this process changed the job itself: the next read goes to the database. The
   * entry's watch and timer end on their own within TTL_MS (it takes no rows once out of the
   * map, and its drop is a no-op for a newer entry).
   */
  invalidate(jobId: string): void {
    this.#entries.delete(jobId);
  }

  /**
   * A notification about the entry's job: its row, newer than the one held, replaces it (no
   * SELECT: migration 0012 puts the row in the notification); one the entry already has
   * changes nothing; anything else (no row in it, a read still in flight, a reconnect) drops
   * the entry, and the next read goes to the database.
   */
  #changed(jobId: string, entry: Entry, change: JobChange | undefined): void {
    // An entry no longer in the map is done: it takes no rows.
    const held = this.#entries.get(jobId) === entry ? entry.value : undefined;
    // A version the entry already holds (its own read raced the notification): nothing to parse.
    if (held && change && change.version <= held.version) return;
    const notified = held && change?.status !== undefined ? parseNotifiedStatus(change.status) : undefined;
    if (!held || !notified || notified.owner !== entry.owner || notified.row.id !== jobId) {
      this.#drop(jobId, entry);
      return;
    }
    if (notified.row.version <= held.version) return;
    // The TTL still counts from the read: a job whose rows nobody asks for any more is not
    // followed (parsed at every progress write) for longer than that.
    entry.value = notified.row;
    entry.row = Promise.resolve(notified.row);
  }

  #drop(jobId: string, entry: Entry): void {
    clearTimeout(entry.timer);
    entry.unwatch();
    if (this.#entries.get(jobId) === entry) this.#entries.delete(jobId);
  }
}
