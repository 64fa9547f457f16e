// Which content types a chat accepts, and what the bytes must look like for each: a declared type is
// believed only when the file's signature agrees, so an HTML page or an executable cannot be stored
// (and later served) as an "image/png".

export const TEXT_TYPES = ['text/plain', 'text/markdown', 'text/csv', 'application/json'] as const;
export const BINARY_TYPES = [
  'application/pdf',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'audio/mpeg',
  'audio/wav',
  'video/mp4',
] as const;

export type TextType = (typeof TEXT_TYPES)[number];
export type BinaryType = (typeof BINARY_TYPES)[number];
export type AllowedType = TextType | BinaryType;

// Enough bytes for every signature below (RIFF…WEBP and …ftyp<brand> need 12).
export const SNIFF_BYTES = 16;

// Other names clients commonly send for the same types.
const ALIASES: Record<string, AllowedType> = {
  'text/x-markdown': 'text/markdown',
  'text/md': 'text/markdown',
  'application/csv': 'text/csv',
  'text/json': 'application/json',
  'application/x-pdf': 'application/pdf',
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/mp3': 'audio/mpeg',
  'audio/mpeg3': 'audio/mpeg',
  'audio/x-mpeg': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
};

// What says nothing about the content: the client did not know.
const GENERIC = new Set(['application/octet-stream', 'binary/octet-stream', 'application/unknown']);

function isText(t: string): t is TextType {
  return (TEXT_TYPES as readonly string[]).includes(t);
}

function isBinary(t: string): t is BinaryType {
  return (BINARY_TYPES as readonly string[]).includes(t);
}

// `Text/Plain; charset=UTF-8` → `text/plain`; undefined when nothing was declared.
export function essence(declared: string | undefined): string | undefined {
  const t = (declared ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return t === '' ? undefined : t;
}

function startsWith(head: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (head.length < at + sig.length) return false;
  return sig.every((b, i) => head[at + i] === b);
}

const ascii = (s: string) => [...s].map((ch) => ch.charCodeAt(0));

// ISO base media brands of MP4 video (not HEIF images, not QuickTime).
const MP4_BRANDS = new Set(['isom', 'iso2', 'iso4', 'iso5', 'iso6', 'mp41', 'mp42', 'avc1', 'dash', 'M4V ', 'mmp4']);

// The binary type the first bytes announce, if any.
export function sniffBinary(head: Uint8Array): BinaryType | undefined {
  if (startsWith(head, ascii('%PDF-'))) return 'application/pdf';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(head, ascii('GIF87a')) || startsWith(head, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return 'image/webp';
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WAVE'), 8)) return 'audio/wav';
  if (startsWith(head, ascii('ftyp'), 4) && head.length >= 12) {
    const brand = String.fromCharCode(...head.subarray(8, 12));
    if (MP4_BRANDS.has(brand)) return 'video/mp4';
  }
  // MP3: an ID3v2 tag, or an MPEG audio frame sync (11 set bits) with a valid layer.
  if (startsWith(head, ascii('ID3'))) return 'audio/mpeg';
  if (
    head.length >= 2 &&
    head[0] === 0xff &&
    ((head[1] as number) & 0xe0) === 0xe0 &&
    ((head[1] as number) & 0x06) !== 0
  ) {
    return 'audio/mpeg';
  }
  return undefined;
}

export type TypeDecision = { ok: true; type: AllowedType; mustBeText: boolean } | { ok: false; reason: string };

const LIST = [...TEXT_TYPES, ...BINARY_TYPES].join(', ');

// The type to store, from the declared type and the first bytes (`textSoFar`: the bytes read so far are
// UTF-8 without NUL). A text type is only provisional: the whole file must turn out to be text.
export function decideType(declared: string | undefined, head: Uint8Array, textSoFar: boolean): TypeDecision {
  const given = essence(declared);
  const sniffed = sniffBinary(head);
  if (given === undefined || GENERIC.has(given)) {
    if (sniffed) return { ok: true, type: sniffed, mustBeText: false };
    if (textSoFar) return { ok: true, type: 'text/plain', mustBeText: true };
    return { ok: false, reason: `its content is not of an accepted type (${LIST})` };
  }
  const type = ALIASES[given] ?? given;
  if (isText(type)) {
    if (!textSoFar) return { ok: false, reason: `it is declared ${given} but its content is not UTF-8 text` };
    return { ok: true, type, mustBeText: true };
  }
  if (isBinary(type)) {
    if (sniffed === type) return { ok: true, type, mustBeText: false };
    const looks = sniffed ?? (textSoFar ? 'text' : 'unrecognised bytes');
    return { ok: false, reason: `it is declared ${given} but its content is ${looks}` };
  }
  return { ok: false, reason: `type ${given} is not accepted (accepted: ${LIST})` };
}

// Whether a stream of bytes is UTF-8 text without NUL, fed chunk by chunk (the whole file, not just its
// head: a text type is checked to its last byte).
export class TextCheck {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private text = true;

  get isText(): boolean {
    return this.text;
  }

  push(chunk: Uint8Array): void {
    if (!this.text) return;
    if (chunk.indexOf(0) !== -1) {
      this.text = false;
      return;
    }
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      this.text = false;
    }
  }

  // At the end of the file: a multi-byte sequence cut short is not text.
  end(): boolean {
    if (this.text) {
      try {
        this.decoder.decode();
      } catch {
        this.text = false;
      }
    }
    return this.text;
  }
}
