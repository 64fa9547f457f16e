// File names as clients send them are untrusted text: they may carry directories ("../../etc/passwd",
// "C:\\Users\\x\\a.txt"), control characters that split headers or logs, bidi overrides that disguise
// an extension, or hundreds of characters. The stored name is only a label (the R2 key never contains
// it), but it comes back in Content-Disposition and in JSON, so it is made safe once, on upload.

export const MAX_NAME_CHARS = 255;
const FALLBACK = 'file';

// C0 and C1 controls, DEL, and the invisible formatting characters used to disguise names (zero-width
// characters, bidi embeddings, overrides and isolates, the BOM). Matching controls is the point here.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
// Half of a surrogate pair on its own cannot be encoded as UTF-8.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// Characters Windows refuses in names (the path separators are handled before).
const RESERVED = /[<>:"|?*]/g;
// An extension worth keeping when the name is shortened.
const EXTENSION = /\.[^.\s]{1,16}$/;

function cap(name: string): string {
  const chars = Array.from(name);
  if (chars.length <= MAX_NAME_CHARS) return name;
  const ext = EXTENSION.exec(name)?.[0] ?? '';
  const extChars = Array.from(ext).length;
  const base = chars
    .slice(0, chars.length - extChars)
    .slice(0, MAX_NAME_CHARS - extChars)
    .join('')
    .replace(/[.\s]+$/, '');
  return base === '' ? FALLBACK + ext : base + ext;
}

// The name to store: the last path component, without controls, `..`, leading dots or reserved
// characters, at most 255 characters with the extension kept; `file` if nothing is left.
export function sanitizeFilename(raw: string | undefined): string {
  const cleaned = (raw ?? '').normalize('NFC').replace(LONE_SURROGATE, '').replace(INVISIBLE, '');
  const last = cleaned.split(/[/\\]/).pop() ?? '';
  const name = last
    .replace(RESERVED, '_')
    .replace(/\.{2,}/g, '.')
    .trim()
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  return name === '' ? FALLBACK : cap(name);
}

// RFC 5987 ext-value characters (attr-char); everything else is percent-encoded as UTF-8.
function encodeExtValue(s: string): string {
  return encodeURIComponent(s).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

// `attachment` with a plain ASCII fallback name for old clients and the exact name as filename*
// (RFC 6266 §4.3). The fallback has no quote, backslash or percent sign, so it cannot end the quoted
// string or be mistaken for an encoding.
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeExtValue(name)}`;
}
