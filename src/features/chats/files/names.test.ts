import { describe, expect, it } from 'vitest';
import { contentDisposition, MAX_NAME_CHARS, sanitizeFilename } from './names';

describe('sanitizeFilename', () => {
  it('keeps ordinary names as they are', () => {
    for (const name of ['report.pdf', 'Résumé 2024 (final).docx', '数据.csv', 'a b-c_d.tar.gz', 'emoji 🙂.txt']) {
      expect(sanitizeFilename(name)).toBe(name);
    }
  });

  it('keeps only the last path component, for / and \\ alike', () => {
    expect(sanitizeFilename('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFilename('/abs/path/a.txt')).toBe('a.txt');
    expect(sanitizeFilename('C:\\Users\\me\\secret.txt')).toBe('secret.txt');
    expect(sanitizeFilename('..\\..\\windows\\system.ini')).toBe('system.ini');
    expect(sanitizeFilename('dir/')).toBe('file');
  });

  it('removes control characters, bidi overrides and zero-width characters', () => {
    expect(sanitizeFilename('a\r\nX-Injected: 1\u0000.txt')).toBe('aX-Injected_ 1.txt');
    // Removing them does not bring a path back: the slash still splits.
    expect(sanitizeFilename('a\r\nContent-Type: text/html.txt')).toBe('html.txt');
    expect(sanitizeFilename('evil\u202egnp.exe')).toBe('evilgnp.exe');
    expect(sanitizeFilename('z\u200bero\u0007\u007f\u0085.txt')).toBe('zero.txt');
  });

  it('removes `..`, leading dots and trailing dots or spaces; reserved characters become _', () => {
    expect(sanitizeFilename('..')).toBe('file');
    expect(sanitizeFilename('...')).toBe('file');
    expect(sanitizeFilename('.htaccess')).toBe('htaccess');
    expect(sanitizeFilename('a..b...txt')).toBe('a.b.txt');
    expect(sanitizeFilename('name. . ')).toBe('name');
    expect(sanitizeFilename('a<b>c:d"e|f?g*h.txt')).toBe('a_b_c_d_e_f_g_h.txt');
    expect(sanitizeFilename('.\u0000.')).toBe('file');
  });

  it('gives `file` when nothing is left', () => {
    for (const raw of [undefined, '', '   ', '/', '\\', '\u0000\u0001', '../..', '\u202e'])
      expect(sanitizeFilename(raw)).toBe('file');
  });

  it('caps at 255 characters (not UTF-16 units), keeping the extension', () => {
    const long = sanitizeFilename(`${'a'.repeat(500)}.pdf`);
    expect(long).toHaveLength(MAX_NAME_CHARS);
    expect(long.endsWith('.pdf')).toBe(true);
    const astral = sanitizeFilename(`${'🙂'.repeat(400)}.txt`);
    expect(Array.from(astral)).toHaveLength(MAX_NAME_CHARS);
    expect(astral.endsWith('🙂.txt')).toBe(true);
    // No extension: cut at 255.
    expect(sanitizeFilename('b'.repeat(500))).toBe('b'.repeat(255));
    // Exactly 255 stays untouched.
    expect(sanitizeFilename(`${'c'.repeat(251)}.txt`)).toBe(`${'c'.repeat(251)}.txt`);
  });
});

describe('contentDisposition', () => {
  it('is an attachment with an ASCII fallback and the exact name as filename*', () => {
    expect(contentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(contentDisposition('€ "rates" 100%.txt')).toBe(
      `attachment; filename="_ _rates_ 100_.txt"; filename*=UTF-8''%E2%82%AC%20%22rates%22%20100%25.txt`,
    );
    expect(contentDisposition("it's (1)*.txt")).toBe(
      `attachment; filename="it's (1)*.txt"; filename*=UTF-8''it%27s%20%281%29%2A.txt`,
    );
  });
});
