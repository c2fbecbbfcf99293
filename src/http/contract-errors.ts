import type { Socket } from 'node:net';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import { TallyError } from '../errors.ts';
import { toErrorBody, toErrorResponse } from './error-response.ts';

/**
 * Every answer a Tally HTTP server gives outside a route's own success is in the
 * contract's shape `{"error": {"code", "message"}}`: route errors, unknown routes, and the
 * refusals Fastify and Node make before any route runs (a head too large: 431; a head too
 * slow: 408; garbage: 400; a path parameter too long: 414). Both the API and the
 * metrics-only server use these.
 */

/** Writes a whole HTTP/1.1 error response on a raw socket, then closes it. */
export function writeRawError(socket: Socket, status: number, statusText: string, error: TallyError): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(toErrorBody(error));
  const retryAfter =
    error.retryAfterSeconds === undefined ? '' : `Retry-After: ${error.retryAfterSeconds}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${retryAfter}Connection: close\r\n\r\n${body}`,
  );
  socket.destroySoon();
}

/** Node's parser refused the request before Fastify saw it. */
function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    writeRawError(
      socket,
      408,
      'Request Timeout',
      new TallyError('REQUEST_TIMEOUT', 'The request head did not arrive in time; send it promptly.'),
    );
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    writeRawError(
      socket,
      431,
      'Request Header Fields Too Large',
      new TallyError(
        'BAD_REQUEST',
        'The request line and headers are too large (16 KiB at most); send a shorter URL or fewer headers.',
      ),
    );
  } else {
    writeRawError(
      socket,
      400,
      'Bad Request',
      new TallyError('BAD_REQUEST', 'The request is not valid HTTP/1.1.'),
    );
  }
}

/** Fastify's refusals before routing (too-long path parameter, malformed URL). */
function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, headers, body } = toErrorResponse(error);
  // FST_ERR_MAX_PARAM_LENGTH is a 414 by nature; keep the status, use our shape.
  void reply
    .code(error.statusCode === 414 ? 414 : status)
    .headers(headers)
    .send(body);
}

/** Pass to `Fastify({...})`. */
export const contractErrorOptions = {
  clientErrorHandler,
  frameworkErrors,
} satisfies Partial<FastifyServerOptions>;

/** Route errors and unknown routes in the contract's shape (register at the root). */
export const contractErrorsPlugin = fp(
  (app: FastifyInstance, opts: { closeOnRefusedUpload?: boolean }) => {
    app.setErrorHandler((error, request, reply) => {
      const { status, headers, body } = toErrorResponse(error);
      if (status >= 500 && body.error.code === 'INTERNAL')
        request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: body.error.code, status }, 'request refused');
      // A refused upload's body may be mostly unread: close the connection rather than
      // reading gigabytes nobody wants.
      if (opts.closeOnRefusedUpload && request.method === 'POST' && request.url.startsWith('/api/jobs'))
        void reply.header('connection', 'close');
      return reply.code(status).headers(headers).send(body);
    });
    app.setNotFoundHandler((request, reply) =>
      reply
        .code(404)
        .send(
          toErrorBody(
            new TallyError('NOT_FOUND', `No route for ${request.method} ${request.url.slice(0, 200)}.`),
          ),
        ),
    );
  },
  { name: 'tally-contract-errors' },
);
