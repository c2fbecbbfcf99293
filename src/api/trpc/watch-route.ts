import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { fastifyRequestHandler, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { toTallyError } from '../../http/error-response.ts';
import { toJobStatus, type JobStatusRow } from '../../jobs/job-status.ts';
import type { Authenticate } from '../auth.ts';
import type { AppRouter } from './app-router.ts';
import { SseHeartbeat } from './sse-heartbeat.ts';
import {
  jobIdOf,
  logProcedureFailure,
  toTrpcErrorShape,
  WATCH_CLIENT_OPTIONS,
  WATCH_PING_MS,
} from './trpc.ts';
import { jobWatchInput, watchJobRows, type WatchDeps } from './watch-job.ts';

export interface WatchRouteOptions {
  authenticate: Authenticate;
  deps: WatchDeps;
  /** The tRPC handler's options: every request this route does not answer itself goes there. */
  trpcOptions: FastifyTRPCPluginOptions<AppRouter>['trpcOptions'];
}

const PATH = 'jobs.watch';
const ROUTE = '/trpc/jobs.watch';

/** tRPC's SSE wire format, byte for byte (its sseStreamProducer ends each event with "\n\n"). */
const CONNECTED = `event: connected\ndata: ${JSON.stringify(WATCH_CLIENT_OPTIONS)}\n\n\n`;
const PING = 'event: ping\ndata: \n\n\n';
const RETURN = 'event: return\ndata: \n\n\n';
const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

/**
 * Each row's event, encoded once: the streams of one job woken by one change all send
 * the same row object from the status cache (5,000 streams, one JSON.stringify).
 */
const events = new WeakMap<JobStatusRow, string>();
function eventOf(row: JobStatusRow): string {
  let event = events.get(row);
  if (event === undefined) {
    event = `data: ${JSON.stringify(toJobStatus(row))}\nid: ${row.version}\n\n\n`;
    events.set(row, event);
  }
  return event;
}

/**
 * `GET /trpc/jobs.watch?input=…` — a stream held for a job's whole run — written straight
 * to the socket, with the same pieces as the procedure: the authenticator and scope, the
 * zod input (with tRPC's `lastEventId` merged in), `watchJobRows`, tRPC's SSE events and
 * error shape. Any other form goes to tRPC itself; its client cannot tell the two apart.
 *
 * Why: through tRPC a stream held a Fetch Request, a chain of async generators, a ping
 * timer raced against every read, a ReadableStream piped through two TransformStreams and
 * a Node Readable: 1,000 idle streams grew the API by 140–151 MiB (~143 KiB each; V8 heap
 * +58 MiB) and cost 4.0–4.1 % of a core. Here a stream is its socket, one suspended
 * generator and an AbortController, and one timer writes every stream's heartbeat: +34–39
 * MiB and 1.4–1.6 % (bench/realtime.bench.ts R2, 2026-12-03, load 14–18 on 2 cores).
 */
export const watchRoute: FastifyPluginCallback<WatchRouteOptions> = (app, opts, done) => {
  const heartbeat = new SseHeartbeat(WATCH_PING_MS, PING);
  app.addHook('onClose', (_instance, next) => {
    heartbeat.stop();
    next();
  });
  const viaTrpc = (request: FastifyRequest, reply: FastifyReply) =>
    fastifyRequestHandler({ ...opts.trpcOptions, req: request, res: reply, path: PATH });

  app.get(ROUTE, async (request, reply) => {
    const raw = plainWatchInput(request.query, request.headers['last-event-id']);
    if (raw === undefined) return viaTrpc(request, reply);
    reply.hijack();
    const res = reply.raw;
    // CORS and the request id were set on the reply by the onRequest hooks.
    res.writeHead(200, { ...(reply.getHeaders() as OutgoingHttpHeaders), ...SSE_HEADERS });
    res.write(CONNECTED);
    const controller = new AbortController();
    res.once('close', () => {
      controller.abort();
      heartbeat.delete(res);
    });
    heartbeat.add(res);
    try {
      // As tRPC does for a subscription, inside the stream: the token first (with the raw
      // input's jobId, as authedProcedure), then the input; a refusal is an error event.
      const owner = await opts.authenticate(request.headers.authorization, {
        scope: 'read',
        jobId: jobIdOf(raw),
      });
      const input = jobWatchInput.parse(raw);
      for await (const row of watchJobRows(opts.deps, owner, input, controller.signal)) {
        if (!res.write(eventOf(row))) await drained(res);
      }
      res.end(RETURN);
    } catch (error) {
      if (controller.signal.aborted) return;
      logProcedureFailure(request.log, error, PATH, raw);
      const shape = toTrpcErrorShape(toTallyError(error), PATH);
      res.end(`event: serialized-error\ndata: ${JSON.stringify(shape)}\n\n\n`);
    }
  });
  done();
};

/**
 * The input with the client's last event id merged in, as tRPC does (the `Last-Event-Id`
 * header of a native EventSource, else the `lastEventId` parameter its own client sends),
 * when the query is `?input=<JSON object>` and at most that parameter; else undefined.
 */
function plainWatchInput(query: unknown, lastEventIdHeader: string | string[] | undefined): unknown {
  const { input, lastEventId, ...rest } = query as Record<string, unknown>;
  for (const _ in rest) return undefined;
  if (typeof input !== 'string') return undefined;
  if (lastEventId !== undefined && typeof lastEventId !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch {
    return undefined; // tRPC answers unreadable input in its own words
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const last = (typeof lastEventIdHeader === 'string' ? lastEventIdHeader : undefined) ?? lastEventId;
  return last ? { ...parsed, lastEventId: last } : parsed;
}

/** Resolves when the socket takes writes again, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
