import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { TallyError } from '../errors.ts';
import { writeRawError } from '../http/contract-errors.ts';

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
/** What the guard knows, for the drain at shutdown. */
export class ConnectionStats {
  /** Requests received and not yet answered (or abandoned). */
  openRequests = 0;
  /** Sockets held now. */
  sockets = 0;
}

export const connectionGuard = fp(
  (app: FastifyInstance, opts: { maxConnections: number; stats: ConnectionStats }) => {
    const server: Server = app.server;
    const { stats } = opts;
    /** Requests not yet answered, per socket. */
    const open = new Map<Socket, number>();
    // Sets keep insertion order: the first is the oldest, so eviction is O(1).
    const silent = new Set<Socket>(); // connected, no request head yet
    const idle = new Set<Socket>(); // answered everything, waiting in keep-alive

    const evictOneIdle = (): boolean => {
      const victim = silent.values().next().value ?? idle.values().next().value;
      if (!victim) return false;
      silent.delete(victim);
      idle.delete(victim);
      open.delete(victim); // now, not at its 'close': the newcomer takes its place at once
      victim.destroy();
      return true;
    };

    server.on('connection', (socket: Socket) => {
      if (open.size >= opts.maxConnections && !evictOneIdle()) {
        writeRawError(
          socket,
          503,
          'Service Unavailable',
          new TallyError(
            'SERVICE_UNAVAILABLE',
            `The server is at its connection limit (MAX_CONNECTIONS=${opts.maxConnections}); retry shortly.`,
            undefined,
            { retryAfterSeconds: 2 },
          ),
        );
        return;
      }
      open.set(socket, 0);
      silent.add(socket);
      stats.sockets = open.size;
      socket.once('close', () => {
        open.delete(socket);
        stats.sockets = open.size;
        silent.delete(socket);
        idle.delete(socket);
      });
    });

    app.addHook('onRequest', (request, reply, done) => {
      stats.openRequests++;
      reply.raw.once('close', () => stats.openRequests--);
      const socket = request.raw.socket;
      const n = open.get(socket);
      if (n !== undefined) {
        silent.delete(socket);
        idle.delete(socket);
        open.set(socket, n + 1);
        reply.raw.once('close', () => {
          const left = (open.get(socket) ?? 1) - 1;
          if (!open.has(socket)) return;
          open.set(socket, left);
          if (left === 0) idle.add(socket);
        });
      }
      done();
    });
  },
  { name: 'tally-connection-guard' },
);
