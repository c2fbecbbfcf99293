/**
 * Simulated pollers: `pollers` keep-alive connections, each sending one GET every
 * `intervalMs` (random phase), as status-polling clients do. Open loop: a poll that falls
 * due while the previous one is still out is sent as soon as it returns, and its latency
 * counts from when it was due, so a slow server cannot hide its queue (no coordinated
 * omission).
 *
 * Raw sockets and a minimal HTTP/1.1 response reader instead of undici: at 5,000 req/s
 * undici's client cost ~0.6 of a core of the two the server under test also runs on.
 */
import net from 'node:net';
import { percentile } from './stats.ts';

export interface PollResult {
  /** Answers per second inside the measured window. */
  rps: number;
  p50: number;
  p99: number;
  /** Non-200 answers. */
  errors: number;
}

export interface PollOptions {
  port: number;
  /** Path (with query) per poller; poller i asks for `paths[i % paths.length]`. */
  paths: readonly string[];
  pollers: number;
  /** 0: closed loop, each poller sends again as soon as it has its answer (capacity). */
  intervalMs: number;
  seconds: number;
  warmupSeconds?: number;
}

/** Where the first complete response in `buf` ends, and its status; undefined while incomplete. */
function responseEnd(buf: Buffer): { end: number; status: number } | undefined {
  const headerEnd = buf.indexOf('\r\n\r\n');
  if (headerEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headerEnd);
  const status = Number(head.slice(9, 12));
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  let at = headerEnd + 4;
  if (length) {
    const end = at + Number(length[1]);
    return buf.length >= end ? { end, status } : undefined;
  }
  // chunked: <hex>\r\n<data>\r\n … 0\r\n\r\n
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
    at = lineEnd + 2 + size + 2;
    if (buf.length < at) return undefined;
    if (size === 0) return { end: at, status };
  }
}

export async function poll(opts: PollOptions): Promise<PollResult> {
  const warmup = (opts.warmupSeconds ?? 1) * 1000;
  const t0 = performance.now();
  const measureFrom = t0 + warmup;
  const stopAt = measureFrom + opts.seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let lastAnswer = measureFrom;

  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const request = Buffer.from(
        `GET ${opts.paths[i % opts.paths.length]} HTTP/1.1\r\nhost: 127.0.0.1:${opts.port}\r\nconnection: keep-alive\r\n\r\n`,
      );
      const socket = net.connect(opts.port, '127.0.0.1');
      socket.setNoDelay(true);
      let pending: Buffer = Buffer.alloc(0);
      let dueAt = 0;
      let inFlight = false;
      let next = t0 + Math.random() * Math.max(opts.intervalMs, 1);
      let timer: NodeJS.Timeout | undefined;
      const send = () => {
        timer = undefined;
        // Every poll due before the end is sent, however late: dropping them would hide the tail.
        dueAt = opts.intervalMs > 0 ? next : performance.now();
        if (dueAt >= stopAt) {
          socket.end();
          return;
        }
        next += opts.intervalMs;
        inFlight = true;
        socket.write(request);
      };
      const schedule = () => {
        if (inFlight || timer) return;
        const wait = opts.intervalMs > 0 ? next - performance.now() : 0;
        if (wait <= 0) send();
        else timer = setTimeout(send, wait);
      };
      socket.on('connect', schedule);
      socket.on('data', (data: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, data]) : data;
        const done = responseEnd(pending);
        if (!done) return;
        pending = pending.subarray(done.end);
        inFlight = false;
        const now = performance.now();
        if (dueAt >= measureFrom && dueAt < stopAt) {
          latencies.push(now - dueAt);
          lastAnswer = now;
          if (done.status !== 200) errors++;
        }
        schedule();
      });
      socket.on('error', reject);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  await Promise.all(Array.from({ length: opts.pollers }, (_, i) => one(i)));
  return {
    // Over the time the answers took: a server that falls behind answers the window's polls late.
    rps: latencies.length / (Math.max(lastAnswer - measureFrom, opts.seconds * 1000) / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
}

export interface Herd {
  /** Resolves with each waiter's answer time (performance.now()) once all have answered. */
  answered: Promise<{ at: number[]; errors: number }>;
  close(): void;
}

/**
 * `count` long polls, each on its own raw socket, all on one path (one job): a herd. Sent
 * in batches so connecting does not itself become the load being measured.
 */
export async function longPollHerd(opts: {
  port: number;
  path: string;
  count: number;
  headers?: Record<string, string>;
}): Promise<Herd> {
  const extra = Object.entries(opts.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request = Buffer.from(`GET ${opts.path} HTTP/1.1\r\nhost: 127.0.0.1:${opts.port}\r\n${extra}\r\n`);
  const sockets: net.Socket[] = [];
  const answers: Promise<{ at: number; status: number }>[] = [];
  for (let i = 0; i < opts.count; i += 250) {
    const batch = Array.from({ length: Math.min(250, opts.count - i) }, () => {
      const socket = net.connect(opts.port, '127.0.0.1');
      socket.setNoDelay(true);
      sockets.push(socket);
      let pending: Buffer = Buffer.alloc(0);
      answers.push(
        new Promise((resolve) => {
          socket.on('data', (data: Buffer) => {
            // The time first: 5,000 answers arrive at once and are read one after another,
            // so what the client does per answer adds up in the tail.
            const at = performance.now();
            pending = pending.length ? Buffer.concat([pending, data]) : data;
            const done = responseEnd(pending);
            if (done) resolve({ at, status: done.status });
          });
          socket.on('error', () => resolve({ at: performance.now(), status: 0 }));
          socket.on('close', () => resolve({ at: performance.now(), status: 0 }));
        }),
      );
      return new Promise<void>((resolve) =>
        socket.once('connect', () => {
          socket.write(request);
          resolve();
        }),
      );
    });
    await Promise.all(batch);
  }
  return {
    answered: Promise.all(answers).then((all) => ({
      at: all.map((a) => a.at),
      errors: all.filter((a) => a.status !== 200).length,
    })),
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}
