import { describe, expect, it } from 'vitest';
import { decideType, sniffBinary, TextCheck } from './sniff';

// Signatures written from the formats' specifications (PDF 1.7 §7.5.2, PNG §5.2, JFIF, GIF89a, RIFF,
// ISO/IEC 14496-12 ftyp, ID3v2 / MPEG audio frame headers).
const of = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

const SAMPLES = {
  'application/pdf': of('%PDF-1.7\n%', [0xe2, 0xe3, 0xcf, 0xd3]),
  'image/png': of([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d], 'IHDR'),
  'image/jpeg': of([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF', [0, 1, 1, 0, 0, 1]),
  'image/gif': of('GIF89a', [1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0]),
  'image/webp': of('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '),
  'audio/wav': of('RIFF', [0x24, 0, 0, 0], 'WAVEfmt '),
  'video/mp4': of([0, 0, 0, 0x20], 'ftypisom', [0, 0, 2, 0]),
  'audio/mpeg': of('ID3', [4, 0, 0, 0, 0, 0, 0x21], 'TIT2'),
} as const;

describe('sniffBinary', () => {
  it('recognises every accepted binary type by its signature', () => {
    for (const [type, head] of Object.entries(SAMPLES)) expect(sniffBinary(head), type).toBe(type);
    // An MPEG audio frame without an ID3 tag (MPEG-1 layer III, 128 kbit/s).
    expect(sniffBinary(of([0xff, 0xfb, 0x90, 0x64]))).toBe('audio/mpeg');
  });

  it('recognises nothing else', () => {
    for (const head of [
      of('hello world, this is text'),
      of('<!DOCTYPE html><html>'),
      of('MZ', [0x90, 0, 3, 0]),
      of('PK', [3, 4, 0x14, 0]),
      of([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0]),
      of('RIFF', [0, 0, 0, 0], 'AVI LIST'),
      of([0xff, 0xe0]),
      of('%PD'),
      of(),
    ]) {
      expect(sniffBinary(head)).toBeUndefined();
    }
  });
});

describe('decideType', () => {
  it('believes a declared binary type only when the bytes agree, aliases included', () => {
    for (const [type, head] of Object.entries(SAMPLES)) {
      expect(decideType(type, head, false)).toEqual({ ok: true, type, mustBeText: false });
    }
    expect(decideType('image/jpg', SAMPLES['image/jpeg'], false)).toMatchObject({ ok: true, type: 'image/jpeg' });
    expect(decideType('audio/x-wav', SAMPLES['audio/wav'], false)).toMatchObject({ ok: true, type: 'audio/wav' });
    expect(decideType('IMAGE/PNG; foo=bar', SAMPLES['image/png'], false)).toMatchObject({
      ok: true,
      type: 'image/png',
    });
  });

  it('refuses a spoofed type, naming what was declared and what the bytes are', () => {
    const spoof = decideType('image/png', of('just some text, honestly'), true);
    expect(spoof).toMatchObject({ ok: false });
    if (!spoof.ok) expect(spoof.reason).toMatch(/declared image\/png.*text/);
    const other = decideType('image/png', SAMPLES['image/gif'], false);
    if (!other.ok) expect(other.reason).toMatch(/declared image\/png.*image\/gif/);
    expect(other.ok).toBe(false);
    expect(decideType('application/pdf', SAMPLES['image/png'], false).ok).toBe(false);
  });

  it('takes the sniffed type when none or a generic one was declared', () => {
    for (const declared of [undefined, '', 'application/octet-stream', 'Application/Octet-Stream; x=1']) {
      expect(decideType(declared, SAMPLES['image/png'], false)).toEqual({
        ok: true,
        type: 'image/png',
        mustBeText: false,
      });
      expect(decideType(declared, of('a,b\n1,2\n'), true)).toEqual({ ok: true, type: 'text/plain', mustBeText: true });
      const unknown = decideType(declared, of('MZ', [0x90, 0]), false);
      expect(unknown.ok).toBe(false);
      if (!unknown.ok) expect(unknown.reason).toMatch(/not of an accepted type/);
    }
  });

  it('accepts the text types for text only, and refuses types not on the list', () => {
    for (const t of ['text/plain', 'text/markdown', 'text/csv', 'application/json', 'text/plain; charset=utf-8']) {
      expect(decideType(t, of('{"a": 1}'), true)).toMatchObject({ ok: true, mustBeText: true });
      expect(decideType(t, SAMPLES['image/png'], false).ok).toBe(false);
    }
    for (const t of [
      'text/html',
      'image/svg+xml',
      'application/zip',
      'application/x-msdownload',
      'application/javascript',
    ]) {
      const d = decideType(t, of('<svg onload=alert(1)>'), true);
      expect(d.ok, t).toBe(false);
      if (!d.ok) expect(d.reason).toContain(`type ${t} is not accepted`);
    }
  });
});

describe('TextCheck', () => {
  const check = (...chunks: Uint8Array[]) => {
    const t = new TextCheck();
    for (const c of chunks) t.push(c);
    return t.end();
  };

  it('accepts UTF-8 split anywhere, multi-byte characters included', () => {
    const text = new TextEncoder().encode('naïve € 🙂 text\n');
    expect(check(text)).toBe(true);
    for (let at = 0; at <= text.length; at++)
      expect(check(text.slice(0, at), text.slice(at)), `split ${at}`).toBe(true);
    expect(check()).toBe(true);
  });

  it('refuses NUL bytes, invalid UTF-8 and a character cut off at the end', () => {
    expect(check(of('abc', [0], 'def'))).toBe(false);
    expect(check(of('abc', [0xff], 'def'))).toBe(false);
    expect(check(of('caf', [0xc3]))).toBe(false);
    expect(check(of('over', [0xc0, 0xaf]))).toBe(false);
  });
});
