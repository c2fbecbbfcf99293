import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { TallyError } from '../../errors.ts';
import { formatBytes } from '../../lib/format-bytes.ts';
import type { StagedFile, Staging } from '../../files/stored-files.ts';
import { sanitizeFilename } from './filename.ts';
import { StagingSink } from './staging-sink.ts';
import { watchBodyRate, type BodyRateLimits } from './body-rate-watch.ts';

const MAX_OPTIONS_BYTES = 64 * 1024;

export interface ReceivedUpload {
  filename: string;
  optionsText: string | undefined;
  file: StagedFile;
}

export interface UploadLimits extends BodyRateLimits {
  maxFileBytes: number;
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
    new UploadReception(req, bb, staging, limits, resolve, reject).start();
  });
}

/** One body being read: the parser's events, the file part's sink, and how it ends. */
class UploadReception {
  private settled = false;
  private filesSeen = 0;
  private sink: StagingSink | undefined;
  /** Resolves with whether busboy truncated the file (it was over the size limit). */
  private fileDone: Promise<boolean> | undefined;
  private filename = 'upload.csv';
  private optionsText: string | undefined;
  private stopWatching: () => void = () => undefined;

  constructor(
    private readonly req: Readable,
    private readonly bb: busboy.Busboy,
    private readonly staging: Staging,
    private readonly limits: UploadLimits,
    private readonly resolve: (upload: ReceivedUpload) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  start(): void {
    const { req, bb } = this;
    const fail = (error: unknown) => this.fail(error);
    this.stopWatching = watchBodyRate(req, this.limits, fail, () => this.sink?.storeWaitMs() ?? 0);
    bb.on('file', (name, stream, info) => this.onFile(name, stream, info.filename));
    bb.on('field', (name, value, info) => this.onField(name, value, info.valueTruncated));
    bb.on('filesLimit', () => fail(new TallyError('BAD_REQUEST', 'Send exactly one file per upload.')));
    bb.on('partsLimit', () => fail(new TallyError('BAD_REQUEST', 'The request has too many parts.')));
    bb.on('fieldsLimit', () => fail(new TallyError('BAD_REQUEST', 'The request has too many form fields.')));
    bb.on('error', (error: Error) =>
      fail(new TallyError('BAD_REQUEST', `The multipart request is malformed: ${error.message}.`)),
    );
    bb.on('close', () => this.onClose());
    req.on('aborted', () =>
      fail(new TallyError('BAD_REQUEST', 'The client closed the connection mid-upload.')),
    );
    req.on('error', fail);
    req.pipe(bb);
  }

  private onFile(name: string, stream: Readable, partFilename: string | undefined): void {
    this.filesSeen += 1;
    const refusal = refuseFilePart(name, this.filesSeen, partFilename);
    if (refusal) {
      stream.resume();
      return this.fail(refusal);
    }
    this.filename = sanitizeFilename(partFilename);
    this.sink = new StagingSink(this.staging);
    stream.on('limit', () => this.fail(tooLarge(this.limits.maxFileBytes)));
    this.fileDone = pipeline(stream, this.sink).then(
      () => (stream as { truncated?: boolean }).truncated === true,
    );
    this.fileDone.catch((error: unknown) => this.fail(error));
  }

  private onField(name: string, value: string, valueTruncated: boolean): void {
    // busboy hands a part without a filename to 'field': a "file" sent as text.
    if (name === 'file') return this.fail(missingFilename());
    if (name !== 'options') return; // unknown fields are ignored, as browsers add their own
    if (valueTruncated) {
      return this.fail(
        new TallyError('BAD_REQUEST', `The options part is larger than ${formatBytes(MAX_OPTIONS_BYTES)}.`),
      );
    }
    this.optionsText = value;
  }

  private onClose(): void {
    if (this.settled) return;
    const { fileDone, sink } = this;
    if (!fileDone || !sink) {
      return this.fail(
        new TallyError('BAD_REQUEST', 'No file: send the CSV as a multipart part named "file".'),
      );
    }
    fileDone.then(
      (truncated) => {
        if (this.settled) return;
        if (truncated) return this.fail(tooLarge(this.limits.maxFileBytes));
        this.settled = true;
        this.stopWatching();
        this.resolve({ filename: this.filename, optionsText: this.optionsText, file: sink.result() });
      },
      (error: unknown) => this.fail(error),
    );
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.stopWatching();
    this.req.unpipe(this.bb);
    this.bb.removeAllListeners();
    this.bb.on('error', () => undefined); // late parser errors after we gave up are expected
    // Stop writing and let the staging's operation in flight finish before rejecting, so
    // the caller's discard runs after it and deletes what it stored too.
    this.sink?.destroy(new Error('upload abandoned'));
    void (this.sink?.settled() ?? Promise.resolve()).finally(() =>
      this.reject(error instanceof Error ? error : new Error(String(error))),
    );
  }
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

function tooLarge(max: number): TallyError {
  return new TallyError('FILE_TOO_LARGE', `The file is larger than the ${formatBytes(max)} upload limit.`, {
    maxBytes: max,
  });
}
