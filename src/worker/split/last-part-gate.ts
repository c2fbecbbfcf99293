/** Starts this process's worker on the parts queue (its pg-boss id), or stops one, letting its part end. */
export interface PartWorkerSwitch {
  start(): Promise<string>;
  stop(id: string): Promise<void>;
}

/**
 * This process takes no part of a split file while one of its attempts runs that file's last
 * part: every part is sized to end together with the others (plan-split.ts), and a part in
 * the same process competes for the last part's one JS thread, which would end it late, and
 * the job with it. (Measured when the attempt also scanned the file, on the P6 quick bench,
 * 75 MiB, 4 worker processes on 2 shared cores: the scan took 4.4 s when its process took
 * part 1 at 2.3 s, against 1.4–2.1 s with the gate.) A part already running when the last
 * part begins runs to its end; the process takes parts again once its last part ended, so a
 * lone worker still runs every part, after its own.
 *
 * Starts and stops run one after another, each against the count as it is when it runs.
 */
export class LastPartGate {
  #running = 0;
  #id: string | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly parts: PartWorkerSwitch,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The first start of the part worker (before any last part). */
  async open(): Promise<void> {
    this.#settle();
    await this.#queue;
  }

  /** A last part begins: stop taking parts. */
  begin(): void {
    this.#running++;
    this.#settle();
  }

  /** A last part ended (however): take parts again once no other runs here. */
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
