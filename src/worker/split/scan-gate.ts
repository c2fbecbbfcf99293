/** Starts this process's worker on the parts queue (its pg-boss id), or stops one, letting its part end. */
export interface PartWorkerSwitch {
  start(): Promise<string>;
  stop(id: string): Promise<void>;
}

/**
 * This process takes no part of a split file while one of its attempts scans a file to
 * split, or runs that file's last part (which it reads on from its scan): the scan is on
 * the critical path of every part but the first (each is queued once the scan has passed its
 * end), and a part in the same process competes for its one JS thread. Measured on the P6
 * quick bench (75 MiB, 4 worker processes on 2 shared cores): the scan took 4.4 s when its
 * process took part 1 at 2.3 s, against 1.3 s with 2 processes, where it ran alone; with the
 * gate 1.4–2.1 s. At full size (1 GiB) the 4-process scan took 20.5 s against 18.7 s with 2
 * (28.7 against 15.4 s before: docs/performance.md, P6). A part already running when a scan
 * begins runs to its end; the process takes parts again once its last scan (and last part)
 * ended, so a lone worker still runs every part, after its own.
 *
 * Starts and stops run one after another, each against the count as it is when it runs.
 */
export class ScanGate {
  #scans = 0;
  #id: string | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly parts: PartWorkerSwitch,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The first start of the part worker (before any scan). */
  async open(): Promise<void> {
    this.#settle();
    await this.#queue;
  }

  /** A scan begins: stop taking parts. */
  begin(): void {
    this.#scans++;
    this.#settle();
  }

  /** A scan ended (however): take parts again once no other scan runs. */
  end(): void {
    this.#scans--;
    this.#settle();
  }

  /** Resolves once the starts and stops asked for so far are done (tests). */
  settled(): Promise<void> {
    return this.#queue;
  }

  #settle(): void {
    this.#queue = this.#queue.then(async () => {
      try {
        if (this.#scans > 0 && this.#id !== null) {
          const id = this.#id;
          this.#id = null;
          await this.parts.stop(id);
        } else if (this.#scans === 0 && this.#id === null) {
          this.#id = await this.parts.start();
        }
      } catch (error) {
        this.onError(error); // e.g. pg-boss stopping with the process: nothing to take parts for
      }
    });
  }
}
