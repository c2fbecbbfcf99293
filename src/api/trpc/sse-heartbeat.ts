import type { ServerResponse } from 'node:http';

/**
 * One timer that writes a heartbeat to every held event stream, instead of one timer (and
 * a promise race per event, as tRPC's `withPing` does) for each stream. A stream whose
 * socket is not keeping up (its buffer is full) skips the beat: it is not idle.
 */
export class SseHeartbeat {
  readonly #streams = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly beat: string,
  ) {}

  get size(): number {
    return this.#streams.size;
  }

  add(stream: ServerResponse): void {
    this.#streams.add(stream);
    this.#timer ??= setInterval(() => this.#beatAll(), this.intervalMs).unref();
  }

  delete(stream: ServerResponse): void {
    this.#streams.delete(stream);
    if (this.#streams.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #beatAll(): void {
    for (const stream of this.#streams) {
      if (!stream.writableNeedDrain && !stream.writableEnded) stream.write(this.beat);
    }
  }
}
