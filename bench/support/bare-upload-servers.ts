/**
 * The P1 floors, as bare node:http servers with no framework and no multipart parsing:
 *   store: streams the request body into job_file_chunks in 1 MiB rows inside one
 *          transaction (after a jobs row, as Tally's FK needs) — Tally's storage floor;
 *   file:  pipes the request body to a temp file — the disk floor.
 *   node --import tsx bench/support/bare-upload-servers.ts <store|file> <port> <databaseUrl>
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';

const [mode, port, url] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 10 });
const CHUNK = 1024 * 1024;

async function store(req: http.IncomingMessage): Promise<void> {
  const client = await pool.connect();
  const id = randomUUID();
  try {
    await client.query('begin');
    await client.query(
      `insert into jobs (id, owner, state, filename, bytes, sha256, compression, delimiter) values ($1, 'bench', 'queued', 'x', 0, '', 'none', ',')`,
      [id],
    );
    let pending: Buffer[] = [];
    let size = 0;
    let seq = 0;
    const flush = async () => {
      const data = Buffer.concat(pending);
      pending = [];
      size = 0;
      await client.query('insert into job_file_chunks (job_id, seq, data) values ($1, $2, $3)', [
        id,
        seq++,
        data,
      ]);
    };
    for await (const chunk of req as AsyncIterable<Buffer>) {
      pending.push(chunk);
      size += chunk.length;
      if (size >= CHUNK) await flush();
    }
    if (size > 0) await flush();
    await client.query('commit');
  } finally {
    client.release();
  }
}

async function toFile(req: http.IncomingMessage): Promise<void> {
  const file = path.join(os.tmpdir(), `bench-${randomUUID()}.part`);
  await pipeline(req, createWriteStream(file));
  rmSync(file);
}

http
  .createServer((req, res) => {
    (mode === 'store' ? store(req) : toFile(req)).then(
      () => {
        res.writeHead(202);
        res.end();
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  })
  .listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
