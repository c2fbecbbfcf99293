import net from 'node:net';

export interface CuttingProxy {
  url: string;
  /** Connections cut so far. */
  readonly cuts: number;
  stop(): Promise<void>;
}

/**
 * A TCP proxy in front of a Tally that drops the connection (both sides, at once, as a
 * lost network does) once `cutAfterBytes` of request bytes have gone through it, `times`
 * times; after that it passes everything. The client and the server each see a reset
 * socket mid-request. The one piece of HTTP it speaks: a request head's `Host` names the
 * proxy's port, which a Tally without auth refuses (only its own host and port are served),
 * so with `rewriteHost` the proxy writes the target's port there, as a reverse proxy keeping
 * the host would.
 */
export async function startCuttingProxy(
  targetUrl: string,
  cutAfterBytes: number,
  times = 1,
  opts: { rewriteHost?: boolean } = {},
): Promise<CuttingProxy> {
  const target = new URL(targetUrl);
  let cuts = 0;
  let forwarded = 0;
  const sockets = new Set<net.Socket>();
  const own: { host?: RegExp } = {}; // set once listening: the proxy's own port
  const withTargetHost = (data: Buffer): Buffer => {
    if (!own.host || !opts.rewriteHost) return data;
    const text = data.toString('latin1'); // byte for byte, whatever the body holds
    const rewritten = text.replace(own.host, `$1${target.host}\r\n`);
    return rewritten === text ? data : Buffer.from(rewritten, 'latin1');
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined); // the resets are the point
    }
    upstream.pipe(client);
    client.on('data', (received: Buffer) => {
      const data = withTargetHost(received);
      if (cuts < times && forwarded + data.length >= cutAfterBytes) {
        cuts += 1;
        upstream.write(data.subarray(0, cutAfterBytes - forwarded));
        forwarded = 0; // the next cut counts anew
        client.resetAndDestroy();
        upstream.resetAndDestroy();
        return;
      }
      forwarded += data.length;
      if (!upstream.write(data)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
    client.on('end', () => upstream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  own.host = new RegExp(`(\r\nhost: *)127\\.0\\.0\\.1:${port}\r\n`, 'gi');
  return {
    url: `http://127.0.0.1:${port}`,
    get cuts() {
      return cuts;
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
