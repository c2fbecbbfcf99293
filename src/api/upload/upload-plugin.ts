import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PgBoss } from 'pg-boss';
import { jobOptionsSchema, type JobOptions } from '../../analysis/options.ts';
import type { Db } from '../../db/database.ts';
import { notMultipart, TallyError } from '../../errors.ts';
import type { StoredFiles } from '../../files/stored-files.ts';
import { describeIssues } from '../../http/error-response.ts';
import type { Authenticate } from '../auth.ts';
import type { JobCreationRate } from '../job-creation-rate.ts';
import { observeUpload } from '../../observability/metrics.ts';
import { receiveUpload, type UploadLimits } from './receive-upload.ts';
import { recordUpload } from './record-upload.ts';
import { sniffUpload } from './sniff-upload.ts';

export interface UploadPluginOptions {
  db: Db;
  boss: PgBoss;
  /** Where the uploaded bytes go (src/files/). */
  files: StoredFiles;
  /** MAX_UPLOAD_BYTES, UPLOAD_IDLE_TIMEOUT_MS, UPLOAD_MIN_BYTES_PER_SECOND, UPLOAD_RATE_GRACE_MS. */
  limits: UploadLimits;
  authenticate: Authenticate;
  /** Uploads and re-runs per owner per minute (UPLOAD_RATE_LIMIT_PER_MINUTE), one count for both. */
  jobCreations: JobCreationRate;
  /** Whether new uploads are taken (false while shutting down). */
  accepting: () => boolean;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** What admitUpload established about a request before its body is read. */
interface Admitted {
  owner: string;
  idempotencyKey: string | undefined;
}

/**
 * POST /api/jobs: admit (before any byte of the body is read) → receive the body into a
 * staging → check options and head → one transaction makes it a job → 202. An
 * encapsulated plugin: its multipart parser and its admission (token, rate, draining)
 * stay in this scope.
 */
export function uploadPlugin(app: FastifyInstance, deps: UploadPluginOptions, done: () => void): void {
  // Leave multipart bodies unread: busboy streams them in the handler.
  app.addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null, undefined));
  const admitted = new WeakMap<FastifyRequest, Admitted>();
  // onRequest runs before Fastify parses any body: a request without a token gets its 401,
  // and a JSON body its 415, without a byte of the body being read.
  const admitUpload = async (request: FastifyRequest) => {
    admitted.set(request, await admit(deps, request));
  };
  app.post('/api/jobs', { onRequest: admitUpload }, (request, reply) =>
    takeUpload(deps, admitted.get(request)!, request, reply),
  );
  done();
}

async function admit(deps: UploadPluginOptions, request: FastifyRequest): Promise<Admitted> {
  if (!deps.accepting()) {
    throw new TallyError('SERVICE_UNAVAILABLE', 'The server is shutting down; retry the upload in a moment.');
  }
  // The one place the upload route asks who is calling: a token with the `upload` scope.
  const owner = await deps.authenticate(request.headers.authorization, { scope: 'upload' });
  requireMultipart(request.headers['content-type']);
  // Per owner, not per IP: many users may share one NAT, and one token may upload from
  // many hosts. Counted before a byte of the body is read.
  deps.jobCreations.take(owner);
  return { owner, idempotencyKey: idempotencyKeyOf(request.headers['idempotency-key']) };
}

/** The body of an admitted upload into a staging, and the staging into a job (or discarded). */
async function takeUpload(
  deps: UploadPluginOptions,
  { owner, idempotencyKey }: Admitted,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const staging = deps.files.stage({ log: request.log });
  let adopted = false;
  try {
    const received = await receiveUpload(request.raw, request.headers, staging, deps.limits);
    const options = parseOptions(received.optionsText);
    const sniffed = await sniffUpload(received.file.head, options);
    const recorded = await recordUpload(deps, {
      jobId: staging.id,
      owner,
      idempotencyKey,
      received,
      sniffed,
      options,
      requestId: request.id,
    });
    adopted = recorded.created;
    observeUpload(received.file.bytes, recorded.created);
    request.log.info(
      {
        jobId: recorded.jobId,
        bytes: received.file.bytes,
        created: recorded.created,
        compression: sniffed.compression,
      },
      recorded.created ? 'upload accepted' : 'upload matched an earlier Idempotency-Key',
    );
    return await reply
      .code(recorded.created ? 202 : 200)
      .send({ jobId: recorded.jobId, state: recorded.state });
  } finally {
    // Refused, cut off, a duplicate, or the transaction failed: no job, so no bytes.
    if (!adopted) await staging.discard();
  }
}

function requireMultipart(contentType: string | undefined): void {
  if (!/^multipart\/form-data\s*;/i.test(contentType ?? '')) {
    throw notMultipart();
  }
}

function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  const key = typeof header === 'string' ? header : undefined;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new TallyError('BAD_REQUEST', 'Idempotency-Key must be 1–200 visible ASCII characters.');
  }
  return key;
}

function parseOptions(text: string | undefined): JobOptions {
  if (text === undefined || text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TallyError('BAD_REQUEST', 'The options part is not valid JSON.');
  }
  const parsed = jobOptionsSchema.safeParse(json);
  if (!parsed.success) {
    // Named as the person wrote them: `options.columns.date: …`, in the API's one sentence.
    const issues = parsed.error.issues.map((i) => ({ ...i, path: ['options', ...i.path] }));
    throw new TallyError('BAD_REQUEST', describeIssues(issues));
  }
  return parsed.data;
}
