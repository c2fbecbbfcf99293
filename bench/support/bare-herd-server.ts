/**
 * The P4d floor: a bare node:http server that holds every `GET /wait` and, on
 * `GET /release`, answers all of them at once with one pre-built ~400-byte JSON body (the
 * size of a status answer). No framework, no auth, no database, no wake-up: what it costs
 * this machine only to write N HTTP answers to N sockets from one process.
 * `GET /count` says how many are waiting.
 *
 * With `socket`, the answers are instead one pre-built HTTP/1.1 answer written straight to
 * each socket, past node:http's answer path (the ServerResponse is never ended, so the
 * connection cannot serve another request: a measurement of what that path costs, not a
 * server). `npx tsx bench/status.bench.ts --herd-paths` sets the two side by side.
 *   node --import tsx bench/support/bare-herd-server.ts <port> [http|socket]
 */
import http from 'node:http';

const [port, path = 'http'] = process.argv.slice(2);
const body = JSON.stringify({
  result: { data: { id: '00000000-0000-4000-8000-000000000000', pad: 'x'.repeat(330) } },
});
let waiting: http.ServerResponse[] = [];
const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/wait')) {
    waiting.push(res);
    return;
  }
  if (req.url === '/release') {
    const all = waiting;
    waiting = [];
    if (path === 'socket') {
      const answer = Buffer.from(
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n' +
          `content-length: ${Buffer.byteLength(body)}\r\ndate: ${new Date().toUTCString()}\r\n` +
          `connection: keep-alive\r\nkeep-alive: timeout=65\r\n\r\n${body}`,
      );
      for (const r of all) r.socket?.write(answer);
    } else for (const r of all) r.writeHead(200, { 'content-type': 'application/json' }).end(body);
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end(String(waiting.length));
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 120_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
