/** What an SSE stream says, field by field, as each completes. */
export interface SseHandlers {
  /** A blank line ended an event with data (`type` is 'message' unless the stream named one). */
  event(type: string, data: string): void;
  /** An `id:` field (one holding NUL is ignored, as the standard says). */
  id(id: string): void;
  /** A `retry:` field of digits only: the reconnect delay in milliseconds. */
  retry(ms: number): void;
}

/**
 * The text/event-stream parsing rules (WHATWG HTML §9.2.6) over decoded text chunks: lines
 * end in CRLF, LF or CR; `data:` lines join with newlines; `:` starts a comment. Pure: the
 * EventSource (fetch-event-source.ts) owns the connection. Returns the function that takes
 * the next chunk.
 */
export function sseParser(on: SseHandlers): (text: string) => void {
  let buffer = '';
  let data: string[] = [];
  let type = '';
  const line = (text: string) => {
    if (text === '') {
      if (data.length > 0) on.event(type || 'message', data.join('\n'));
      data = [];
      type = '';
      return;
    }
    if (text.startsWith(':')) return; // a comment
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) on.id(value);
    else if (field === 'retry' && /^\d+$/.test(value)) on.retry(Number(value));
  };
  return (text) => {
    buffer += text;
    let end: number;
    while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A lone CR at the chunk's end may be the first half of CRLF: wait for more.
      if (buffer[end] === '\r' && end === buffer.length - 1) break;
      const text = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
      line(text);
    }
  };
}
