/** A raw SSE reader for tests: what curl or a browser's EventSource would see, no tRPC client. */

export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Resolves with the next event (pings included), or undefined once the stream ended. */
  next(): Promise<SseEvent | undefined>;
  /** The next event that is not a ping. */
  nextData(): Promise<SseEvent | undefined>;
  close(): void;
}

export function watchUrl(baseUrl: string, input: unknown): string {
  return `${baseUrl}/trpc/jobs.watch?input=${encodeURIComponent(JSON.stringify(input))}`;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const next = async (): Promise<SseEvent | undefined> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const ev: SseEvent = { event: 'message', data: '', id: undefined };
        for (const line of block.split('\n')) {
          const [field, ...rest] = line.split(':');
          const value = rest.join(':').replace(/^ /, '');
          if (field === 'event') ev.event = value;
          else if (field === 'data') ev.data = value;
          else if (field === 'id') ev.id = value;
        }
        if (block.trim() !== '') return ev;
        continue;
      }
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return undefined;
      buffer += value;
    }
  };
  const nextData = async () => {
    for (;;) {
      const ev = await next();
      if (ev?.event !== 'ping') return ev;
    }
  };
  return { status: res.status, headers: res.headers, next, nextData, close: () => controller.abort() };
}
