// A decoder for text/event-stream bodies that follows the WHATWG HTML "Parsing an event stream" rules to
// the letter: UTF-8 with a leading BOM dropped; lines end in CRLF, LF or CR (a CRLF split between two
// chunks is still one line end); a line starting with ':' is a comment; `field: value` loses one space
// after the colon, and a line without a colon is a field with an empty value; `data` lines join with LF;
// `event` names the type ("message" otherwise); `id` sets the last event id unless it holds NUL; other
// fields (`retry` included: we never reconnect) are ignored; a blank line dispatches the event unless no
// `data` line came since the last one. An event still open when the body ends is not dispatched.

export interface SseEvent {
  type: string;
  data: string;
  lastEventId: string;
}

export class SseParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SseParseError';
  }
}

const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;

// An upstream that never ends a line or an event would otherwise grow our memory without bound; chat
// chunks are a few hundred characters.
export const DEFAULT_MAX_EVENT_CHARS = 1 << 20;

export class SseParser {
  readonly #decoder = new TextDecoder('utf-8');
  readonly #maxEventChars: number;
  // The start of a line whose end has not arrived yet.
  #partial = '';
  // The previous chunk ended in CR: a LF at the start of the next one ends no further line.
  #afterCR = false;
  #data = '';
  #hasData = false;
  #type = '';
  #lastEventId = '';

  constructor(maxEventChars = DEFAULT_MAX_EVENT_CHARS) {
    this.#maxEventChars = maxEventChars;
  }

  // The events the chunk completes, in order. Throws SseParseError when one event outgrows the bound.
  push(chunk: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    this.#text(this.#decoder.decode(chunk, { stream: true }), out);
    return out;
  }

  // The body has ended. True when it ended between events; false when an event (or a line) was left
  // open, which the caller may treat as a truncated stream. The open event is discarded either way.
  end(): boolean {
    // A UTF-8 sequence cut by the end of the body decodes to U+FFFD and leaves the line unterminated.
    const rest = this.#decoder.decode();
    const clean = rest === '' && this.#partial === '' && !this.#hasData;
    this.#partial = '';
    this.#data = '';
    this.#hasData = false;
    this.#type = '';
    return clean;
  }

  #text(text: string, out: SseEvent[]): void {
    const n = text.length;
    if (n === 0) return;
    let pos = 0;
    if (this.#afterCR) {
      this.#afterCR = false;
      if (text.charCodeAt(0) === LF) pos = 1;
    }
    let lf = text.indexOf('\n', pos);
    let cr = text.indexOf('\r', pos);
    while (lf !== -1 || cr !== -1) {
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 === n) {
          next = n;
          this.#afterCR = true;
        } else {
          next = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        }
      } else {
        end = lf;
        next = lf + 1;
      }
      let line = text.slice(pos, end);
      if (this.#partial !== '') {
        line = this.#partial + line;
        this.#partial = '';
      }
      this.#line(line, out);
      pos = next;
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
    }
    if (pos < n) {
      this.#partial += text.slice(pos);
      this.#bound(this.#partial.length + this.#data.length);
    }
  }

  #line(line: string, out: SseEvent[]): void {
    if (line.length === 0) return this.#dispatch(out);
    if (line.charCodeAt(0) === COLON) return;
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === SPACE ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'data':
        this.#data = this.#hasData ? `${this.#data}\n${value}` : value;
        this.#hasData = true;
        this.#bound(this.#data.length);
        return;
      case 'event':
        this.#type = value;
        return;
      case 'id':
        if (!value.includes('\0')) this.#lastEventId = value;
        return;
    }
  }

  #dispatch(out: SseEvent[]): void {
    if (this.#hasData) out.push({ type: this.#type || 'message', data: this.#data, lastEventId: this.#lastEventId });
    this.#data = '';
    this.#hasData = false;
    this.#type = '';
  }

  #bound(chars: number): void {
    if (chars > this.#maxEventChars) throw new SseParseError(`an event exceeds ${this.#maxEventChars} characters`);
  }
}
