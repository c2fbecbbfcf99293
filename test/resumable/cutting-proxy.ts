import net from 'node:net';

export interface CuttingProxy {
  url: string;
  /** Connections cut so far. */
  readonly cuts: number;
  /** What each connection did, with times: request lines, answers, ends, errors, the cut. */
  readonly trace: readonly string[];
  stop(): Promise<void>;
}

export interface CuttingProxyOptions {
  /**
   * A request head's `Host` names the proxy's port, which a Tally without auth refuses (only
   * its own host and port are served): with `rewriteHost` the proxy writes the target's port
   * there, as a reverse proxy keeping the host would.
   */
  rewriteHost?: boolean;
  /**
   * Awaited once the cut's bytes went through and before the sockets are reset, with the
   * client paused (nothing more goes up): lets a test cut at a known point of the server's
   * work (say, once the PATCH holds its upload's lease), not at whatever the buffers allow.
   */
  beforeCut?: () => Promise<void>;
}

/**
 * A TCP proxy in front of a Tally that drops the connection (both sides, at once, as a
 * lost network does) once `cutAfterBytes` of request bytes have gone through it, `times`
 * times; after that it passes everything. The client and the server each see a reset
 * socket mid-request.
 *
 * Whatever ends one side of a connection reaches the other, as on a real network: the
 * server's close (it closes after refusing a PATCH whose body it will not read, and its
 * kernel then resets the unread body) resets the client's socket. Without this a refused
 * PATCH's 423 could be lost in the proxy (its write of the body failed with EPIPE and Node
 * dropped the socket before reading the answer) while the client's socket stayed open:
 * the client waited for an answer forever (the "resume hang" of 2 runs in 9).
 */
export async function startCuttingProxy(
  targetUrl: string,
  cutAfterBytes: number,
  times = 1,
  opts: CuttingProxyOptions = {},
): Promise<CuttingProxy> {
  const target = new URL(targetUrl);
  let cuts = 0;
  let forwarded = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const trace: string[] = [];
  const t0 = Date.now();
  const own: { host?: RegExp } = {}; // set once listening: the proxy's own port
  const withTargetHost = (data: Buffer): Buffer => {
    if (!own.host || !opts.rewriteHost) return data;
    const text = data.toString('latin1'); // byte for byte, whatever the body holds
    const rewritten = text.replace(own.host, `$1${target.host}\r\n`);
    return rewritten === text ? data : Buffer.from(rewritten, 'latin1');
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    const n = ++connections;
    const note = (what: string) => trace.push(`${Date.now() - t0} ms #${n} ${what}`);
    for (const [side, socket, other] of [
      ['client', client, upstream],
      ['server', upstream, client],
    ] as const) {
      sockets.add(socket);
      socket.on('error', (e: NodeJS.ErrnoException) => note(`${side} error ${e.code ?? e.message}`));
      socket.on('end', () => note(`${side} end`));
      // A reset (or an error) on one side resets the other; a clean close ends it.
      socket.on('close', (hadError) => {
        sockets.delete(socket);
        note(`${side} closed`);
        if (hadError) other.resetAndDestroy();
        else other.end();
        // The other side may be paused, waiting for a drain that will never come: left so, a
        // client still sending its body would wait for a window that never opens, its answer
        // unread (a hang of 90 s, once in CI). Reading on lets its next bytes meet the closed
        // side as a real closed socket does: with a reset (below).
        other.resume();
      });
    }
    upstream.on('data', (d: Buffer) => note(`answer ${firstLine(d)}`));
    upstream.pipe(client);
    client.on('data', (received: Buffer) => {
      if (upstream.destroyed) {
        note('client sent to a closed server: reset');
        client.resetAndDestroy();
        return;
      }
      const data = withTargetHost(received);
      if (/^(POST|PATCH|HEAD|DELETE|GET) /.test(data.toString('latin1', 0, 8)))
        note(`request ${firstLine(data)}`);
      if (cuts < times && forwarded + data.length >= cutAfterBytes) {
        cuts += 1;
        upstream.write(data.subarray(0, cutAfterBytes - forwarded));
        forwarded = 0; // the next cut counts anew
        client.pause();
        const cut = () => {
          note('cut');
          client.resetAndDestroy();
          upstream.resetAndDestroy();
        };
        void (opts.beforeCut?.() ?? Promise.resolve()).then(cut, (error: unknown) => {
          note(`beforeCut failed: ${String(error)}`);
          cut();
        });
        return;
      }
      forwarded += data.length;
      if (!upstream.write(data)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  own.host = new RegExp(`(\r\nhost: *)127\\.0\\.0\\.1:${port}\r\n`, 'gi');
  return {
    url: `http://127.0.0.1:${port}`,
    get cuts() {
      return cuts;
    },
    trace,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function firstLine(data: Buffer): string {
  return data.toString('latin1', 0, 80).split('\r\n')[0]!;
}
