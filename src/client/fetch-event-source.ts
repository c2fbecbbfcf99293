import { authHeaders, type ClientContext } from './context.ts';
import { sseParser } from './sse-parser.ts';

/**
 * An `EventSource` for tRPC's `httpSubscriptionLink`, built on `fetch`, so a stream can
 * carry `Authorization: Bearer …` like every other request of the client.
 *
 * Why not the browser's EventSource: it cannot send headers, so the token would have to
 * ride in the URL (connectionParams), and URLs are what access logs, proxies and browser
 * history keep. Why not an npm ponyfill: the client package depends on `@trpc/client` only.
 * This one is the SSE parsing rules (WHATWG HTML §9.2.6, sse-parser.ts) and a reconnecting
 * fetch, nothing more.
 *
 * Behaves as EventSource does where tRPC relies on it:
 * - a dropped connection or an ended stream is `readyState = CONNECTING` plus an `error`
 *   event, then a reconnect after a back-off, sending the last event id (tRPC reads it
 *   from the `lastEventId` query parameter and merges it into the input, so the server
 *   resumes after it). The token provider is asked again on every reconnect, so a watch
 *   outlives a token's lifetime.
 * - an answer that is not an event stream (a 404 from a server without jobs.watch, a
 *   proxy's HTML page) is `readyState = CLOSED` plus an `error` event: tRPC then fails the
 *   subscription, and `report.unsupported` tells the watcher to long-poll instead.
 * - 429 and 5xx answers (a draining server's 503, a restarting one behind a balancer)
 *   are retried like a dropped connection.
 */
export interface FetchEventSourceInit {
  withCredentials?: boolean;
  /** Filled in when the server cannot stream (see above). */
  report?: SseReport;
}

export interface SseReport {
  /** Why SSE cannot be used here; set once, never cleared. */
  unsupported?: string;
  /** Connections opened (the first and every reconnect). */
  connections: number;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

export type FetchEventSourceClass = new (url: string, init?: FetchEventSourceInit) => FetchEventSource;

export interface FetchEventSource extends EventTarget {
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly CLOSED: number;
  readonly url: string;
  readonly readyState: number;
  close(): void;
}

/** An EventSource class bound to the client's server, fetch and token. */
export function fetchEventSourceClass(ctx: ClientContext): FetchEventSourceClass {
  return class extends ContextEventSource {
    constructor(url: string, init?: FetchEventSourceInit) {
      super(ctx, url, init);
    }
  };
}

class ContextEventSource extends EventTarget implements FetchEventSource {
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSED = CLOSED;
  readyState = CONNECTING;
  readonly #abort = new AbortController();
  readonly #report: SseReport | undefined;
  #lastEventId = '';
  #retryMs = FIRST_RETRY_MS;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #ctx: ClientContext;

  constructor(
    ctx: ClientContext,
    readonly url: string,
    init?: FetchEventSourceInit,
  ) {
    super();
    this.#ctx = ctx;
    this.#report = init?.report;
    void this.#connect();
  }

  close(): void {
    this.readyState = CLOSED;
    clearTimeout(this.#timer);
    this.#abort.abort();
  }

  async #connect(): Promise<void> {
    if (this.readyState === CLOSED) return;
    if (this.#report) this.#report.connections += 1;
    let response: Response;
    try {
      // Resumes after the last event id seen, with a fresh token.
      const url = new URL(this.url, globalThis.location?.href);
      if (this.#lastEventId) url.searchParams.set('lastEventId', this.#lastEventId);
      response = await this.#ctx.fetch(url.toString(), {
        headers: { accept: 'text/event-stream', ...(await authHeaders(this.#ctx)) },
        signal: this.#abort.signal,
      });
    } catch {
      this.#reconnect();
      return;
    }
    if (response.status === 429 || response.status >= 500) {
      void response.body?.cancel().catch(() => undefined);
      this.#reconnect();
      return;
    }
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || !type.startsWith('text/event-stream') || !response.body) {
      void response.body?.cancel().catch(() => undefined);
      this.#fail(
        `the server answered ${response.status} ${type || 'without a content type'}, not an event stream`,
      );
      return;
    }
    if (this.readyState === CLOSED) return;
    this.readyState = OPEN;
    this.dispatchEvent(new Event('open'));
    try {
      await this.#read(response.body);
    } catch {
      // A cut connection: reconnect below.
    }
    this.#reconnect();
  }

  /** Reads the stream and dispatches each event as it completes. */
  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const push = sseParser({
      event: (type, data) => this.#dispatch(type, data),
      id: (id) => (this.#lastEventId = id),
      retry: (ms) => (this.#retryMs = ms),
    });
    for (;;) {
      const { value, done } = await reader.read();
      if (done || this.readyState === CLOSED) return;
      push(decoder.decode(value, { stream: true }));
    }
  }

  #dispatch(type: string, data: string): void {
    // A stream that delivers resets the back-off: the next drop retries quickly again.
    this.#retryMs = FIRST_RETRY_MS;
    this.dispatchEvent(new MessageEvent(type, { data, lastEventId: this.#lastEventId }));
  }

  #reconnect(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CONNECTING;
    this.dispatchEvent(new Event('error'));
    if (this.readyState === CLOSED) return; // a listener closed us
    const wait = this.#retryMs;
    this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
    this.#timer = setTimeout(() => void this.#connect(), wait);
  }

  #fail(reason: string): void {
    if (this.readyState === CLOSED) return;
    if (this.#report) this.#report.unsupported ??= reason;
    this.readyState = CLOSED;
    this.#abort.abort();
    this.dispatchEvent(new Event('error'));
  }
}
