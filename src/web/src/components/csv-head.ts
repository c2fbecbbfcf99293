/**
 * Reads the header row of a chosen file in the browser, to offer its column names in the
 * mapping selects. Only the first 64 KiB are read; a gzip file (magic 1f 8b) yields none.
 */
export async function readHeaderNames(file: Blob, delimiter?: string): Promise<string[]> {
  const head = new Uint8Array(await file.slice(0, 64 * 1024).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) return [];
  const text = new TextDecoder().decode(head).replace(/^\uFEFF/, '');
  const firstLine = text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
  const sep = delimiter ?? guessDelimiter(firstLine);
  return splitRecord(firstLine, sep)
    .map((name) => name.trim())
    .filter((name) => name !== '');
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
