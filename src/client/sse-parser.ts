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
 * EventSource (fetch-event-source.ts) owns the connection.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private type = '';

  constructor(private readonly on: SseHandlers) {}

  push(text: string): void {
    this.buffer += text;
    let end: number;
    while ((end = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A lone CR at the chunk's end may be the first half of CRLF: wait for more.
      if (this.buffer[end] === '\r' && end === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.on.event(this.type || 'message', this.data.join('\n'));
      this.data = [];
      this.type = '';
      return;
    }
    if (line.startsWith(':')) return; // a comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.on.id(value);
    else if (field === 'retry' && /^\d+$/.test(value)) this.on.retry(Number(value));
  }
}
