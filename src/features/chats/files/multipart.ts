import { ApiError } from '../../../lib/errors';

// A streaming multipart/form-data reader (RFC 7578, RFC 2046 §5.1). Request.formData() would buffer
// the whole body — every file of the request at once — so uploads are read part by part instead: the
// reader keeps at most one chunk of the request plus a delimiter's length of look-behind, and hands
// each part's bytes on as views of the request's own chunks (no copy) while it looks for the next
// delimiter.

// Where the bytes come from: the next chunk, or null at the end of the body.
export type Pull = () => Promise<Uint8Array | null>;

export interface PartHeaders {
  // The form field (`name` of Content-Disposition).
  name: string;
  // As the client sent it (filename* preferred over filename); undefined for a plain form field.
  filename: string | undefined;
  contentType: string | undefined;
}

export interface Part {
  headers: PartHeaders;
  // The part's next bytes, or null at its end. Views of the request's chunks: use before reading on.
  read(): Promise<Uint8Array | null>;
}

export interface MultipartOptions {
  // One part's header block; anything larger is not a browser's or an SDK's.
  maxHeaderBytes?: number;
  // Bytes allowed before the first delimiter (the ignored preamble).
  maxPreambleBytes?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const encoder = new TextEncoder();
const headerDecoder = new TextDecoder('utf-8');

function malformed(reason: string): ApiError {
  return new ApiError('VALIDATION_ERROR', `Malformed multipart body: ${reason}`, {
    details: [{ field: 'body', message: reason }],
  });
}

// RFC 2046 bchars, 1 to 70 of them, not ending in a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

// The boundary of a `multipart/form-data` Content-Type, or a 400 saying what is wrong with it.
export function boundaryOf(contentType: string | undefined): string {
  const [type = '', ...rest] = (contentType ?? '').split(';');
  if (type.trim().toLowerCase() !== 'multipart/form-data') {
    throw new ApiError('VALIDATION_ERROR', 'Send the files as multipart/form-data', {
      details: [{ field: 'content-type', message: 'must be multipart/form-data with a boundary' }],
    });
  }
  const boundary = parseParams(rest.join(';'), true).get('boundary');
  if (boundary === undefined || !BOUNDARY.test(boundary)) {
    throw new ApiError('VALIDATION_ERROR', 'The multipart boundary is missing or invalid', {
      details: [{ field: 'content-type', message: 'boundary must be 1 to 70 characters of RFC 2046 bchars' }],
    });
  }
  return boundary;
}

// `; a=b; c="d \" e"` → Map (names lower-cased). In a quoted string a backslash escapes only `"` and
// `\`: browsers percent-encode quotes in names and send Windows paths with their backslashes as is.
// `lenient` skips what it cannot parse (Content-Type); otherwise a stray character is malformed.
export function parseParams(text: string, lenient = false): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  while (i < text.length) {
    ws();
    if (text[i] === ';') {
      i++;
      continue;
    }
    if (i >= text.length) break;
    const eq = text.indexOf('=', i);
    const semi = text.indexOf(';', i);
    if (eq === -1 || (semi !== -1 && semi < eq)) {
      if (!lenient) throw malformed('a Content-Disposition parameter has no value');
      i = semi === -1 ? text.length : semi + 1;
      continue;
    }
    const name = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    ws();
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const ch = text[i] as string;
        if (ch === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
          value += text[i + 1];
          i += 2;
        } else if (ch === '"') {
          i++;
          closed = true;
          break;
        } else {
          value += ch;
          i++;
        }
      }
      if (!closed && !lenient) throw malformed('an unterminated quoted string in part headers');
      ws();
      if (i < text.length && text[i] !== ';' && !lenient) throw malformed('text after a quoted parameter');
    } else {
      const end = text.indexOf(';', i);
      value = text.slice(i, end === -1 ? text.length : end).trim();
      i = end === -1 ? text.length : end;
    }
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

// RFC 5987 `UTF-8''%e2%82%ac.txt`; undefined when it is not UTF-8 or does not decode.
function extValue(value: string): string | undefined {
  const m = /^([A-Za-z0-9!#$&+\-^_`{}~]+)'[^']*'(.*)$/.exec(value);
  if (!m || (m[1] ?? '').toLowerCase() !== 'utf-8') return undefined;
  try {
    return decodeURIComponent(m[2] ?? '');
  } catch {
    return undefined;
  }
}

function parseHeaders(block: Uint8Array): PartHeaders {
  const lines: string[] = [];
  for (const line of headerDecoder.decode(block).split('\r\n')) {
    // Obsolete line folding: a line starting with white space continues the previous one.
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 0) {
      lines[lines.length - 1] += ` ${line.trim()}`;
    } else if (line !== '') {
      lines.push(line);
    }
  }
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('a part header line has no name');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition ??= value;
    else if (name === 'content-type') contentType ??= value;
  }
  if (disposition === undefined) throw malformed('a part has no Content-Disposition');
  const semi = disposition.indexOf(';');
  const type = (semi === -1 ? disposition : disposition.slice(0, semi)).trim().toLowerCase();
  if (type !== 'form-data') throw malformed('a part is not form-data');
  const params = parseParams(semi === -1 ? '' : disposition.slice(semi + 1));
  const field = params.get('name');
  if (field === undefined) throw malformed('a part has no field name');
  const starred = params.get('filename*');
  const filename = (starred !== undefined ? extValue(starred) : undefined) ?? params.get('filename');
  return { name: field, filename, contentType: contentType || undefined };
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0] as number;
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

// Where a suffix of `hay` that could be the start of `needle` begins (hay.length if none).
function partialTail(hay: Uint8Array, needle: Uint8Array): number {
  const from = Math.max(0, hay.length - needle.length + 1);
  for (let i = hay.indexOf(needle[0] as number, from); i !== -1; i = hay.indexOf(needle[0] as number, i + 1)) {
    let j = 0;
    while (i + j < hay.length && hay[i + j] === needle[j]) j++;
    if (i + j === hay.length) return i;
  }
  return hay.length;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';

export class MultipartReader {
  // "\r\n--boundary": every delimiter, the first one too once the body is seen as starting with CRLF.
  private readonly delimiter: Uint8Array;
  private readonly maxHeaderBytes: number;
  private readonly maxPreambleBytes: number;
  private buf: Uint8Array;
  private eof = false;
  private state: State = 'preamble';
  private preambleSeen = 0;
  private current: Part | undefined;

  constructor(
    private readonly pull: Pull,
    boundary: string,
    options: MultipartOptions = {},
  ) {
    this.delimiter = encoder.encode(`\r\n--${boundary}`);
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16_384;
    this.maxPreambleBytes = options.maxPreambleBytes ?? 16_384;
    // The first delimiter may open the body without a CRLF before it.
    this.buf = Uint8Array.of(CR, LF);
  }

  // Reads more of the body into buf; false at its end.
  private async more(): Promise<boolean> {
    if (this.eof) return false;
    const chunk = await this.pull();
    if (chunk === null) {
      this.eof = true;
      return false;
    }
    if (chunk.length > 0) this.buf = concat(this.buf, chunk);
    return true;
  }

  // The next part, or null after the closing delimiter. Whatever the previous part left unread is skipped.
  async nextPart(): Promise<Part | null> {
    if (this.state === 'body' && this.current) {
      while ((await this.current.read()) !== null) {
        // skip the rest of the previous part
      }
    }
    if (this.state === 'preamble') await this.skipPreamble();
    if (this.state === 'after-delimiter') await this.afterDelimiter();
    if (this.state === 'done') return null;
    const headers = await this.readHeaders();
    this.state = 'body';
    const part: Part = { headers, read: () => this.readBody(part) };
    this.current = part;
    return part;
  }

  private async skipPreamble(): Promise<void> {
    for (;;) {
      const at = indexOf(this.buf, this.delimiter);
      if (at !== -1) {
        this.buf = this.buf.subarray(at + this.delimiter.length);
        this.state = 'after-delimiter';
        return;
      }
      const keep = partialTail(this.buf, this.delimiter);
      this.preambleSeen += keep;
      this.buf = this.buf.subarray(keep);
      if (this.preambleSeen > this.maxPreambleBytes) throw malformed('no boundary where the body starts');
      if (!(await this.more())) throw malformed('the body has no boundary delimiter');
    }
  }

  // After "\r\n--boundary": "--" closes the body; else optional transport padding, then CRLF.
  private async afterDelimiter(): Promise<void> {
    while (this.buf.length < 2 && (await this.more())) {
      // need two bytes to tell a close delimiter from a part
    }
    if (this.buf.length < 2) throw malformed('the body ends after a delimiter');
    if (this.buf[0] === DASH && this.buf[1] === DASH) {
      this.state = 'done';
      return;
    }
    for (;;) {
      let i = 0;
      while (i < this.buf.length && (this.buf[i] === 0x20 || this.buf[i] === 0x09)) i++;
      if (i + 1 < this.buf.length) {
        if (this.buf[i] !== CR || this.buf[i + 1] !== LF) throw malformed('a delimiter is not followed by a line end');
        this.buf = this.buf.subarray(i + 2);
        this.state = 'headers';
        return;
      }
      if (i > 256) throw malformed('too much padding after a delimiter');
      if (!(await this.more())) throw malformed('the body ends after a delimiter');
    }
  }

  private async readHeaders(): Promise<PartHeaders> {
    const end = encoder.encode('\r\n\r\n');
    for (;;) {
      // No headers at all: the blank line follows the delimiter's line directly.
      if (this.buf.length >= 2 && this.buf[0] === CR && this.buf[1] === LF) {
        this.buf = this.buf.subarray(2);
        return parseHeaders(new Uint8Array(0));
      }
      const at = indexOf(this.buf, end);
      if (at !== -1) {
        if (at > this.maxHeaderBytes) throw malformed('part headers are too large');
        const block = this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at + end.length);
        return parseHeaders(block);
      }
      if (this.buf.length > this.maxHeaderBytes) throw malformed('part headers are too large');
      if (!(await this.more())) throw malformed('the body ends inside part headers');
    }
  }

  private async readBody(part: Part): Promise<Uint8Array | null> {
    if (this.current !== part || this.state !== 'body') return null;
    for (;;) {
      const at = indexOf(this.buf, this.delimiter);
      if (at === 0) {
        this.buf = this.buf.subarray(this.delimiter.length);
        this.state = 'after-delimiter';
        this.current = undefined;
        return null;
      }
      if (at > 0) {
        const out = this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at);
        return out;
      }
      // Hold back only a tail that could be the start of the delimiter; hand on the rest now.
      const keep = partialTail(this.buf, this.delimiter);
      if (keep > 0) {
        const out = this.buf.subarray(0, keep);
        this.buf = this.buf.subarray(keep);
        return out;
      }
      if (!(await this.more())) throw malformed('the body ends inside a part (no closing boundary)');
    }
  }
}
