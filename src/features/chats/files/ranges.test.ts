import { describe, expect, it } from 'vitest';
import { noneMatch, parseRange, rangeStillValid } from './ranges';

// RFC 9110 §14.1.2 examples, on a 10,000-byte representation.
describe('parseRange', () => {
  const SIZE = 10_000;

  it('reads the three forms of one byte range', () => {
    expect(parseRange('bytes=0-499', SIZE)).toEqual({ kind: 'partial', start: 0, end: 499 });
    expect(parseRange('bytes=500-999', SIZE)).toEqual({ kind: 'partial', start: 500, end: 999 });
    expect(parseRange('bytes=9500-', SIZE)).toEqual({ kind: 'partial', start: 9500, end: 9999 });
    expect(parseRange('bytes=-500', SIZE)).toEqual({ kind: 'partial', start: 9500, end: 9999 });
    expect(parseRange('bytes=0-0', SIZE)).toEqual({ kind: 'partial', start: 0, end: 0 });
    expect(parseRange('Bytes = 10 - 20 ', SIZE)).toEqual({ kind: 'partial', start: 10, end: 20 });
  });

  it('clamps an end or a suffix past the end of the file', () => {
    expect(parseRange('bytes=9000-20000', SIZE)).toEqual({ kind: 'partial', start: 9000, end: 9999 });
    expect(parseRange('bytes=-20000', SIZE)).toEqual({ kind: 'partial', start: 0, end: 9999 });
    expect(parseRange(`bytes=0-${'9'.repeat(400)}`, SIZE)).toEqual({ kind: 'partial', start: 0, end: 9999 });
  });

  it('is unsatisfiable when the range starts past the end, or asks for nothing', () => {
    expect(parseRange('bytes=10000-', SIZE)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=10000-10005', SIZE)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange(`bytes=${'9'.repeat(400)}-`, SIZE)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', SIZE)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores what is not one valid byte range: the whole file is sent', () => {
    for (const h of [
      undefined,
      '',
      'bytes=',
      'bytes=-',
      'bytes=5-2',
      'items=0-5',
      'bytes=0-1,5-6',
      'bytes=a-b',
      'bytes 0-5',
    ]) {
      expect(parseRange(h, SIZE), String(h)).toEqual({ kind: 'full' });
    }
  });
});

describe('conditional headers', () => {
  const ETAG = '"abc123"';

  it('If-None-Match matches by weak comparison, in a list, or *', () => {
    expect(noneMatch('"abc123"', ETAG)).toBe(true);
    expect(noneMatch('W/"abc123"', ETAG)).toBe(true);
    expect(noneMatch('"x", "abc123"', ETAG)).toBe(true);
    expect(noneMatch('*', ETAG)).toBe(true);
    expect(noneMatch('"abc12"', ETAG)).toBe(false);
    expect(noneMatch(undefined, ETAG)).toBe(false);
  });

  it('If-Range keeps the range only for the same strong entity tag', () => {
    expect(rangeStillValid(undefined, ETAG)).toBe(true);
    expect(rangeStillValid('"abc123"', ETAG)).toBe(true);
    expect(rangeStillValid('W/"abc123"', ETAG)).toBe(false);
    expect(rangeStillValid('"other"', ETAG)).toBe(false);
    expect(rangeStillValid('Wed, 21 Oct 2015 07:28:00 GMT', ETAG)).toBe(false);
  });
});
