// Conditional and range requests on a stored file (RFC 9110 §13, §14).

export type RangeRequest =
  { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const SINGLE = /^bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;

// One byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against a file of `size` bytes. What is not a
// single valid range — another unit, several ranges, a malformed one — is ignored and the whole file
// is sent, as RFC 9110 §14.2 allows; a valid range that starts past the end is unsatisfiable (416).
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'full' };
  const m = SINGLE.exec(header.trim());
  if (!m) return { kind: 'full' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    // The last n bytes.
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  if (end < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

function tags(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);

// If-None-Match: weak comparison, `*` matches any stored file.
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return tags(header).some((t) => t === '*' || opaque(t) === opaque(etag));
}

// If-Range: the range applies only to the very representation the client has (strong comparison). A date
// instead of an entity tag is not honoured: the client gets the whole file, which is always correct.
export function rangeStillValid(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  const tag = header.trim();
  return !tag.startsWith('W/') && tag === etag;
}
