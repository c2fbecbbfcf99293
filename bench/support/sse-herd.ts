import net from 'node:net';

export interface SseHerd {
  /**
   * Resolves once every stream has received an event whose id is `id` (its first status)
   * or has ended without it; says how many ended so, and the first error event's data.
   */
  allSaw(id: string): Promise<{ failed: number; firstError?: string }>;
  /** Resolves with when each stream received the event whose id is `id` (performance.now()), and how many never did. */
  arrivals(id: string, timeoutMs: number): Promise<{ at: number[]; missing: number }>;
  close(): void;
}

/**
 * `count` event streams on one path, each on its own raw socket (as bench/support/pollers.ts
 * holds long polls): what 5,000 browsers holding a `jobs.watch` look like to the server,
 * without an EventSource's parsing in the measured path. A stream's bytes are only searched
 * for `id: <id>` lines, so chunked framing and pings cost the client next to nothing.
 * Connected in batches of 250 so connecting does not itself become the load measured.
 */
export async function sseHerd(opts: {
  port: number;
  path: string;
  count: number;
  headers?: Record<string, string>;
}): Promise<SseHerd> {
  const extra = Object.entries(opts.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request = Buffer.from(
    `GET ${opts.path} HTTP/1.1\r\nhost: 127.0.0.1:${opts.port}\r\naccept: text/event-stream\r\n${extra}\r\n`,
  );
  const streams: {
    socket: net.Socket;
    text: string;
    seen: Map<string, number>;
    ended: boolean;
    error?: string;
  }[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  for (let i = 0; i < opts.count; i += 250) {
    const batch = Array.from({ length: Math.min(250, opts.count - i) }, () => {
      const socket = net.connect(opts.port, '127.0.0.1');
      socket.setNoDelay(true);
      const stream: (typeof streams)[number] = { socket, text: '', seen: new Map(), ended: false };
      streams.push(stream);
      socket.on('data', (data: Buffer) => {
        const at = performance.now(); // first: thousands of streams are read one after another
        stream.text += data.toString('latin1');
        // A refusal (an error event, or an HTTP error status) ends the stream without a status.
        stream.error ??= /event: serialized-error\ndata: (.*)\n|^HTTP\/1\.1 ([^2]\d\d.*)\r\n/
          .exec(stream.text)
          ?.slice(1)
          .find(Boolean);
        for (const m of stream.text.matchAll(/\nid: ?(\d+)\n/g)) {
          if (m[1] !== undefined && !stream.seen.has(m[1])) stream.seen.set(m[1], at);
        }
        // Keep only a tail that may hold the start of a split id line.
        stream.text = stream.text.slice(-64);
        notify();
      });
      socket.on('error', (error) => (stream.error ??= error.message));
      socket.on('close', () => {
        stream.ended = true;
        notify();
      });
      return new Promise<void>((resolve) =>
        socket.once('connect', () => {
          socket.write(request);
          resolve();
        }),
      );
    });
    await Promise.all(batch);
  }

  const waitUntil = (done: () => boolean, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      if (done()) return resolve(true);
      const check = () => {
        if (!done()) return;
        finish(true);
      };
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        listeners.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      listeners.add(check);
    });

  return {
    allSaw: async (id) => {
      const ok = await waitUntil(() => streams.every((s) => s.seen.has(id) || s.ended), 120_000);
      const failed = streams.filter((s) => !s.seen.has(id));
      if (!ok && failed.every((s) => !s.ended))
        throw new Error(
          `only ${streams.length - failed.length} of ${streams.length} streams received event ${id}`,
        );
      return { failed: failed.length, firstError: failed.find((s) => s.error)?.error };
    },
    arrivals: async (id, timeoutMs) => {
      await waitUntil(() => streams.every((s) => s.seen.has(id) || s.ended), timeoutMs);
      const at = streams.flatMap((s) => (s.seen.has(id) ? [s.seen.get(id)!] : []));
      return { at, missing: streams.length - at.length };
    },
    close: () => {
      for (const s of streams) s.socket.destroy();
    },
  };
}
