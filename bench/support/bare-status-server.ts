/**
 * The P4 floor: a bare node:http server answering GET /status?id=… with one SELECT of the
 * same row through pg, no framework, no auth, no validation.
 *   node --import tsx bench/support/bare-status-server.ts <port> <databaseUrl>
 */
import http from 'node:http';
import pg from 'pg';

const [port, url] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 10 });
http
  .createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id');
    pool
      .query(
        'select id, state, version, filename, bytes, bytes_processed, rows_processed, attempts, created_at, started_at, finished_at, error_code, error_message from jobs where id = $1',
        [id],
      )
      .then((r) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ result: { data: r.rows[0] as unknown } }));
      })
      .catch(() => {
        res.writeHead(500);
        res.end();
      });
  })
  .listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
