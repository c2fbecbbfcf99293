/**
 * The R1 floor: a bare node:http server that holds every `GET /watch` as an open event
 * stream (tRPC's SSE headers, chunked, one first event `id: 1`) and, on `GET /release`,
 * writes one ~400-byte status event `id: 2` to all of them at once. No framework, auth,
 * database or wake-up: what it costs this machine only to write one event to N held
 * responses from one process. `GET /count` says how many streams are held.
 *   node --import tsx bench/support/bare-sse-server.ts <port>
 */
import http from 'node:http';

const [port] = process.argv.slice(2);
const status = JSON.stringify({ id: '00000000-0000-4000-8000-000000000000', pad: 'x'.repeat(330) });
const event = (id: number) => `data: ${status}\nid: ${id}\n\n\n`;
const held = new Set<http.ServerResponse>();
const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/watch')) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write(event(1));
    held.add(res);
    res.on('close', () => held.delete(res));
    return;
  }
  if (req.url === '/release') {
    const second = event(2);
    for (const r of held) r.write(second);
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end(String(held.size));
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 120_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
