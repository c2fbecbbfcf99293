import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { TallyError } from '../../errors.ts';
import { formatBytes } from '../../lib/format-bytes.ts';
import type { StagedFile, Staging } from '../../files/stored-files.ts';
import { sanitizeFilename } from './filename.ts';
import { StagingSink } from './staging-sink.ts';

const MAX_OPTIONS_BYTES = 64 * 1024;

export interface ReceivedUpload {
  filename: string;
  optionsText: string | undefined;
  file: StagedFile;
}

export interface UploadLimits {
  maxFileBytes: number;
  /** Cut a body that sends nothing for this long (a stalled client). */
  idleTimeoutMs: number;
  /**
   * Cut a body slower than this on average once `rateGraceMs` have passed: a client
   * trickling one byte a second would otherwise hold a connection and a staging forever
   * while never tripping the idle timer.
   */
  minBytesPerSecond: number;
  rateGraceMs: number;
}

/**
 * Reads the multipart body: the `file` part streams into `staging` through a StagingSink
 * (constant memory whatever the size), the `options` field is kept as text.
 *
 * On any failure the upload stops reading, waits for the chunk write in flight, and
 * rejects; the caller discards the staging (it does on every path that is not a job).
 */
export async function receiveUpload(
  req: Readable,
  headers: IncomingHttpHeaders,
  staging: Staging,
  limits: UploadLimits,
): Promise<ReceivedUpload> {
  const bb = createParser(headers, limits.maxFileBytes);
  return new Promise<ReceivedUpload>((resolve, reject) => {
    let settled = false;
    let filesSeen = 0;
    let sink: StagingSink | undefined;
    let fileDone: Promise<boolean> | undefined;
    let filename = 'upload.csv';
    let optionsText: string | undefined;

    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      stopWatching();
      req.unpipe(bb);
      bb.removeAllListeners();
      bb.on('error', () => undefined); // late parser errors after we gave up are expected
      // Stop writing and let the staging's operation in flight finish before rejecting, so
      // the caller's discard runs after it and deletes what it stored too.
      sink?.destroy(new Error('upload abandoned'));
      void (sink?.settled() ?? Promise.resolve()).finally(() =>
        reject(error instanceof Error ? error : new Error(String(error))),
      );
    };
    const stopWatching = watchBodyRate(req, limits, fail, () => sink?.storeWaitMs() ?? 0);

    bb.on('file', (name, stream, info) => {
      filesSeen += 1;
      const refusal = refuseFilePart(name, filesSeen, info.filename);
      if (refusal) {
        stream.resume();
        return fail(refusal);
      }
      filename = sanitizeFilename(info.filename);
      sink = new StagingSink(staging);
      stream.on('limit', () => fail(tooLarge(limits.maxFileBytes)));
      fileDone = pipeline(stream, sink).then(() => (stream as { truncated?: boolean }).truncated === true);
      fileDone.catch(fail);
    });
    bb.on('field', (name, value, info) => {
      // busboy hands a part without a filename to 'field': a "file" sent as text.
      if (name === 'file') return fail(missingFilename());
      if (name !== 'options') return; // unknown fields are ignored, as browsers add their own
      if (info.valueTruncated) {
        return fail(
          new TallyError('BAD_REQUEST', `The options part is larger than ${formatBytes(MAX_OPTIONS_BYTES)}.`),
        );
      }
      optionsText = value;
    });
    bb.on('filesLimit', () => fail(new TallyError('BAD_REQUEST', 'Send exactly one file per upload.')));
    bb.on('partsLimit', () => fail(new TallyError('BAD_REQUEST', 'The request has too many parts.')));
    bb.on('fieldsLimit', () => fail(new TallyError('BAD_REQUEST', 'The request has too many form fields.')));
    bb.on('error', (error: Error) =>
      fail(new TallyError('BAD_REQUEST', `The multipart request is malformed: ${error.message}.`)),
    );
    bb.on('close', () => {
      if (settled) return;
      if (!fileDone || !sink) {
        return fail(new TallyError('BAD_REQUEST', 'No file: send the CSV as a multipart part named "file".'));
      }
      const received = sink;
      fileDone.then((truncated) => {
        if (settled) return;
        if (truncated) return fail(tooLarge(limits.maxFileBytes));
        settled = true;
        stopWatching();
        resolve({ filename, optionsText, file: received.result() });
      }, fail);
    });
    req.on('aborted', () =>
      fail(new TallyError('BAD_REQUEST', 'The client closed the connection mid-upload.')),
    );
    req.on('error', (e) => fail(e));
    req.pipe(bb);
  });
}

/**
 * busboy with Tally's limits. busboy reports an oversized file only by truncating it (the
 * 'limit' event), never as an error, and treats a non-number limit as Infinity, hence the
 * check. Part parameters (the filename) are read as UTF-8, as browsers send them; busboy's
 * default is Latin-1, which turned "Umsätze" into "UmsÃ¤tze".
 */
function createParser(headers: IncomingHttpHeaders, maxFileBytes: number): busboy.Busboy {
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes <= 0) {
    throw new Error('maxFileBytes must be a positive integer'); // busboy would treat it as Infinity
  }
  try {
    return busboy({
      headers,
      defParamCharset: 'utf8',
      limits: {
        fileSize: maxFileBytes,
        files: 2, // one allowed; a second is seen (and refused) rather than silently dropped
        fields: 20,
        fieldSize: MAX_OPTIONS_BYTES,
        parts: 25,
        headerPairs: 20,
      },
    });
  } catch (error) {
    throw new TallyError('BAD_REQUEST', `The multipart request is malformed: ${(error as Error).message}.`);
  }
}

/** Why a file part is refused, if it is. */
function refuseFilePart(
  name: string,
  filesSeen: number,
  filename: string | undefined,
): TallyError | undefined {
  if (name !== 'file') {
    return new TallyError(
      'BAD_REQUEST',
      `Unexpected file part "${[...name].slice(0, 40).join('')}": send the CSV in a part named "file".`,
    );
  }
  if (filesSeen > 1) return new TallyError('BAD_REQUEST', 'Send exactly one file per upload.');
  // filename="" (busboy reports a part with no filename parameter as a field instead).
  if (filename === undefined || filename === '') return missingFilename();
  return undefined;
}

function missingFilename(): TallyError {
  return new TallyError(
    'BAD_REQUEST',
    'The "file" part has no filename: send it as a file (Content-Disposition: form-data; name="file"; filename="revenue.csv"), not as a text field.',
  );
}

/**
 * Cuts a body that stalls (no data for idleTimeoutMs) or trickles (under
 * minBytesPerSecond on average after rateGraceMs). Time spent waiting on our own store
 * (`storeWaitMs`, while the body is paused by our back-pressure) is not the client's: on a
 * slow S3 server four parts in flight took over 30 s, and the idle timer answered 408 to a
 * client that was waiting on us. Returns the function that stops it.
 */
function watchBodyRate(
  req: Readable,
  limits: UploadLimits,
  fail: (error: TallyError) => void,
  storeWaitMs: () => number,
): () => void {
  const startedAt = Date.now();
  let lastDataAt = startedAt;
  let waitedAtLastData = 0;
  let received = 0;
  const onData = (chunk: Buffer) => {
    lastDataAt = Date.now();
    waitedAtLastData = storeWaitMs();
    received += chunk.length;
  };
  req.on('data', onData);
  const watchdog = setInterval(
    () => {
      const now = Date.now();
      const waited = storeWaitMs();
      const silentMs = now - lastDataAt - (waited - waitedAtLastData);
      const clientMs = now - startedAt - waited;
      if (silentMs >= limits.idleTimeoutMs) {
        fail(
          new TallyError(
            'REQUEST_TIMEOUT',
            `The upload stalled: no data for ${Math.round(silentMs / 1000)} s.`,
          ),
        );
      } else if (clientMs >= limits.rateGraceMs && (received * 1000) / clientMs < limits.minBytesPerSecond) {
        fail(
          new TallyError(
            'REQUEST_TIMEOUT',
            `The upload is too slow (under ${limits.minBytesPerSecond} bytes/s); check the connection and try again.`,
          ),
        );
      }
    },
    Math.min(1000, limits.idleTimeoutMs),
  );
  return () => {
    clearInterval(watchdog);
    req.off('data', onData);
  };
}

function tooLarge(max: number): TallyError {
  return new TallyError('FILE_TOO_LARGE', `The file is larger than the ${formatBytes(max)} upload limit.`, {
    maxBytes: max,
  });
}
