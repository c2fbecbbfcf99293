/**
 * Reads the header row of a chosen file in the browser, to offer its column names in the
 * mapping selects. Only the first 64 KiB are read (of the decompressed text for gzip).
 * The bytes are decoded as the server decodes them (CONTRACT §5): a BOM decides, else
 * UTF-8 when the bytes are valid UTF-8, else Windows-1252, unless `encoding` names one —
 * so a name chosen here is the name the server sees.
 */
const HEAD_BYTES = 64 * 1024;

export async function readHeaderNames(file: Blob, delimiter?: string, encoding?: string): Promise<string[]> {
  let head: Uint8Array = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const inflated = await gunzipHead(file);
    if (!inflated) return [];
    head = inflated;
  }
  const text = decodeHead(head, encoding).replace(/^\uFEFF/, '');
  const firstLine = text.split(/\r\n|\n|\r/).find((line) => line.trim() !== '') ?? '';
  const sep = delimiter ?? guessDelimiter(firstLine);
  return splitRecord(firstLine, sep)
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

export function decodeHead(bytes: Uint8Array, encoding?: string): string {
  if (encoding) {
    try {
      return new TextDecoder(encoding).decode(bytes, { stream: true });
    } catch {
      // a label this browser does not know: detect as the server would without it
    }
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe)
    return new TextDecoder('utf-16le').decode(bytes, { stream: true });
  if (bytes[0] === 0xfe && bytes[1] === 0xff)
    return new TextDecoder('utf-16be').decode(bytes, { stream: true });
  try {
    // `stream`: a character cut by the 64 KiB slice is not an error.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

/** The first 64 KiB of a gzip file's text, or undefined where the browser cannot inflate. */
async function gunzipHead(file: Blob): Promise<Uint8Array | undefined> {
  if (typeof DecompressionStream === 'undefined') return undefined;
  const reader = file.stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < HEAD_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.length;
    }
  } catch {
    if (size === 0) return undefined; // corrupt: the server will say so
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  const out = new Uint8Array(Math.min(size, HEAD_BYTES));
  let at = 0;
  for (const part of parts) {
    const take = Math.min(part.length, out.length - at);
    out.set(part.subarray(0, take), at);
    at += take;
    if (at === out.length) break;
  }
  return out;
}

function guessDelimiter(line: string): string {
  let best = ',';
  let bestCount = 0;
  for (const candidate of [',', ';', '\t', '|']) {
    const n = line.split(candidate).length - 1;
    if (n > bestCount) [best, bestCount] = [candidate, n];
  }
  return best;
}

/** RFC 4180 fields of one line (quotes may hold delimiters and doubled quotes). */
function splitRecord(line: string, sep: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === sep) {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}
