/** Starts this process's worker on the parts queue (its pg-boss id), or stops one, letting its part end. */
export interface PartWorkerSwitch {
  start(): Promise<string>;
  stop(id: string): Promise<void>;
}

/**
 * This process takes no queued part of a split file while one of its attempts runs that
 * file's first part itself: every part is sized to end together with the others
 * (plan-split.ts), and a queued part in the same process competes for the attempt's one JS
 * thread, which would end part 0 late, and the job with it. (Measured when the attempt also
 * scanned the file, on the P6 quick bench, 75 MiB, 4 worker processes on 2 shared cores: the
 * scan took 4.4 s when its process took part 1 at 2.3 s, against 1.4–2.1 s with the gate.)
 * A part already running when the attempt's own begins runs to its end; the process takes
 * parts again once its own ended, so a lone worker still runs every part, after its own.
 *
 * Starts and stops run one after another, each against the count as it is when it runs.
 */
export class OwnPartGate {
  #running = 0;
  #id: string | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly parts: PartWorkerSwitch,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The first start of the part worker (before any own part). */
  async open(): Promise<void> {
    this.#settle();
    await this.#queue;
  }

  /** An attempt's own part begins: stop taking parts. */
  begin(): void {
    this.#running++;
    this.#settle();
  }

  /** An attempt's own part ended (however): take parts again once no other runs here. */
  end(): void {
    this.#running--;
    this.#settle();
  }

  /** Resolves once the starts and stops asked for so far are done (tests). */
  settled(): Promise<void> {
    return this.#queue;
  }

  #settle(): void {
    this.#queue = this.#queue.then(async () => {
      try {
        if (this.#running > 0 && this.#id !== null) {
          const id = this.#id;
          this.#id = null;
          await this.parts.stop(id);
        } else if (this.#running === 0 && this.#id === null) {
          this.#id = await this.parts.start();
        }
      } catch (error) {
        this.onError(error); // e.g. pg-boss stopping with the process: nothing to take parts for
      }
    });
  }
}
