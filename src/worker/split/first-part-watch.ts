import type { Logger } from '../../logger.ts';

/**
 * Part 0's progress as its row says it (the bytes it has read), re-read every `everyMs`
 * while the scan runs: with two parts the scan balances their cut on it
 * (balancedFirstCut in plan-split.ts). The part writes its progress every 250 ms, so the
 * figure is up to two intervals old: ~8 MB of a part parsing ~16 MB/s, which moves the
 * cut by half that (~0.1 s of parsing). A failed read keeps the last figure: the cut then
 * leans towards the middle, never past what part 0 can reach.
 */
export class FirstPartWatch {
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private reading = false;

  constructor(
    private readonly readBytes: () => Promise<number | null>,
    private readonly everyMs: number,
    private readonly log: Logger,
  ) {}

  /** The bytes part 0 has read, as last heard (0 before it started). */
  get read(): number {
    return this.bytes;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.poll(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private poll(): void {
    if (this.reading) return;
    this.reading = true;
    this.readBytes()
      .then((bytes) => {
        if (bytes !== null) this.bytes = Math.max(this.bytes, bytes);
      })
      .catch((error: unknown) => this.log.debug({ err: error }, "could not read part 0's progress"))
      .finally(() => (this.reading = false));
  }
}
