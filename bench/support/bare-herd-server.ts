/**
 * The P4d floor: a bare node:http server that holds every `GET /wait` and, on
 * `GET /release`, answers all of them at once with one pre-built ~400-byte JSON body (the
 * size of a status answer). No framework, no auth, no database, no wake-up: what it costs
 * this machine only to write N HTTP answers to N sockets from one process.
 * `GET /count` says how many are waiting.
 *   node --import tsx bench/support/bare-herd-server.ts <port>
 */
import http from 'node:http';

const [port] = process.argv.slice(2);
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
    for (const r of all) r.writeHead(200, { 'content-type': 'application/json' }).end(body);
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end(String(waiting.length));
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 120_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
