import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { TallyError } from '../errors.ts';
import { writeRawError } from '../http/contract-errors.ts';

/** What the guard knows, for the drain at shutdown. */
export class ConnectionStats {
  /** Requests received and not yet answered (or abandoned). */
  openRequests = 0;
  /** Sockets held now. */
  sockets = 0;
}

/**
 * A bound on the sockets the API holds (MAX_CONNECTIONS), so a flood cannot take the
 * process's file descriptors: a flood once held ~20,000 idle sockets against a 20,000 limit
 * and /healthz, every client and the in-process worker got resets.
 *
 * At the bound a new connection first takes the place of the oldest socket that is doing
 * nothing: one that never sent a request head (Node's headersTimeout reaps those anyway,
 * HEADERS_TIMEOUT_MS later), else one idling in keep-alive between requests. Only when
 * every socket has a request in flight (long polls, uploads) is the newcomer refused with
 * 503 and Retry-After, in the contract's shape. So idle sockets, however many, never keep
 * a real request out; busy ones are bounded per owner by LONG_POLLS_PER_OWNER.
 */
export const connectionGuard = fp(
  (app: FastifyInstance, opts: { maxConnections: number; stats: ConnectionStats }) => {
    const { stats, maxConnections } = opts;
    const sockets = new SocketBook(stats);
    const server: Server = app.server;
    server.on('connection', (socket: Socket) => {
      if (sockets.size >= maxConnections && !sockets.evictOneIdle()) {
        refuseAtLimit(socket, maxConnections);
        return;
      }
      sockets.add(socket);
    });
    app.addHook('onRequest', (request, reply, done) => {
      stats.openRequests++;
      reply.raw.once('close', () => stats.openRequests--);
      sockets.requestStarted(request.raw.socket, reply.raw);
      done();
    });
  },
  { name: 'tally-connection-guard' },
);

/** The sockets held, and which of them are doing nothing (the ones a newcomer may take over). */
class SocketBook {
  /** Requests not yet answered, per socket. */
  private readonly open = new Map<Socket, number>();
  // Sets keep insertion order: the first is the oldest, so eviction is O(1).
  private readonly silent = new Set<Socket>(); // connected, no request head yet
  private readonly idle = new Set<Socket>(); // answered everything, waiting in keep-alive

  constructor(private readonly stats: ConnectionStats) {}

  get size(): number {
    return this.open.size;
  }

  add(socket: Socket): void {
    this.open.set(socket, 0);
    this.silent.add(socket);
    this.stats.sockets = this.open.size;
    socket.once('close', () => {
      this.open.delete(socket);
      this.stats.sockets = this.open.size;
      this.silent.delete(socket);
      this.idle.delete(socket);
    });
  }

  /** Destroys the oldest socket doing nothing; false when every socket is busy. */
  evictOneIdle(): boolean {
    const victim = this.silent.values().next().value ?? this.idle.values().next().value;
    if (!victim) return false;
    this.silent.delete(victim);
    this.idle.delete(victim);
    this.open.delete(victim); // now, not at its 'close': the newcomer takes its place at once
    victim.destroy();
    return true;
  }

  /** A request arrived on `socket`: busy until its answer closes, then idle if it was the last. */
  requestStarted(socket: Socket, response: ServerResponse): void {
    const n = this.open.get(socket);
    if (n === undefined) return;
    this.silent.delete(socket);
    this.idle.delete(socket);
    this.open.set(socket, n + 1);
    response.once('close', () => {
      const left = (this.open.get(socket) ?? 1) - 1;
      if (!this.open.has(socket)) return;
      this.open.set(socket, left);
      if (left === 0) this.idle.add(socket);
    });
  }
}

function refuseAtLimit(socket: Socket, maxConnections: number): void {
  writeRawError(
    socket,
    503,
    'Service Unavailable',
    new TallyError(
      'SERVICE_UNAVAILABLE',
      `The server is at its connection limit (MAX_CONNECTIONS=${maxConnections}); retry shortly.`,
      undefined,
      { retryAfterSeconds: 2 },
    ),
  );
}
