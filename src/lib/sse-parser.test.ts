import { describe, expect, it } from 'vitest';
import { SseParseError, SseParser, type SseEvent } from './sse-parser';

// Expected events are written by hand from the WHATWG HTML event-stream rules, never from a run.
const bytes = (text: string) => new TextEncoder().encode(text);

function parseChunks(chunks: Uint8Array[], max?: number): { events: SseEvent[]; clean: boolean } {
  const parser = new SseParser(max);
  const events = chunks.flatMap((c) => parser.push(c));
  return { events, clean: parser.end() };
}
const parse = (text: string, max?: number) => parseChunks([bytes(text)], max);
const message = (data: string, lastEventId = ''): SseEvent => ({ type: 'message', data, lastEventId });

// What an OpenAI-wire stream looks like, with every line end the spec allows, comments, a named event,
// multi-line data, an id, multi-byte characters (2, 3 and 4 UTF-8 bytes) and the closing [DONE].
const WIRE =
  ': keep-alive\r\n' +
  'data: {"delta":"é"}\r\n\r\n' +
  'event: update\r\ndata: line one\r\ndata:line two\r\n\r\n' +
  'id: 7\rdata: 🙂\rdata: €\r\r' +
  'data: [DONE]\n\n';
const WIRE_EVENTS: SseEvent[] = [
  message('{"delta":"é"}'),
  { type: 'update', data: 'line one\nline two', lastEventId: '' },
  message('🙂\n€', '7'),
  message('[DONE]', '7'),
];

describe('SseParser', () => {
  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('ends lines at %s', (_name, eol) => {
    const text = ['data: a', 'data: b', '', 'event: x', 'data: c', '', ''].join(eol);
    expect(parse(text)).toEqual({
      events: [message('a\nb'), { type: 'x', data: 'c', lastEventId: '' }],
      clean: true,
    });
  });

  it('decodes a stream with mixed line ends, comments, a named event, an id and [DONE]', () => {
    expect(parse(WIRE)).toEqual({ events: WIRE_EVENTS, clean: true });
  });

  it('gives the same events wherever the body is split, down to one byte per chunk', () => {
    const all = bytes(WIRE);
    for (let at = 0; at <= all.length; at++) {
      expect(parseChunks([all.slice(0, at), all.slice(at)]), `split at byte ${at}`).toEqual({
        events: WIRE_EVENTS,
        clean: true,
      });
    }
    expect(parseChunks([...all].map((b) => Uint8Array.of(b)))).toEqual({ events: WIRE_EVENTS, clean: true });
  });

  it('reads one space after the colon and no more; a line without a colon is a field with no value', () => {
    expect(parse('data:x\n\ndata:  two\n\ndata\ndata\n\ndata:\n\n').events).toEqual([
      message('x'),
      message(' two'),
      message('\n'),
      message(''),
    ]);
  });

  it('dispatches nothing for comments or for an event without data, and resets the type after each event', () => {
    expect(parse(': only a comment\n\nevent: ping\n\nid: 3\n\ndata: after\n\n').events).toEqual([
      message('after', '3'),
    ]);
    expect(parse('event: a\ndata: 1\n\ndata: 2\n\n').events).toEqual([
      { type: 'a', data: '1', lastEventId: '' },
      message('2'),
    ]);
  });

  it('ignores unknown fields, retry and an id holding NUL', () => {
    expect(parse('id: 1\n\nfoo: bar\nretry: 10\nid: a\0b\ndata: x\n\n').events).toEqual([message('x', '1')]);
  });

  it('drops a leading byte order mark only', () => {
    expect(parse('\uFEFFdata: a\n\n').events).toEqual([message('a')]);
    expect(parse('\uFEFF\uFEFFdata: a\n\n').events).toEqual([]);
  });

  it('does not dispatch an event the body leaves open, and says the stream ended mid-event', () => {
    expect(parse('data: a\n\ndata: b\n')).toEqual({ events: [message('a')], clean: false });
    expect(parse('data: a\n\ndata: b')).toEqual({ events: [message('a')], clean: false });
    expect(parse('data: a\n\ndata: b\r')).toEqual({ events: [message('a')], clean: false });
    // A comment or a bare event name left unterminated carries nothing.
    expect(parse('data: a\n\n: bye\n')).toEqual({ events: [message('a')], clean: true });
    // A character cut by the end of the body.
    expect(parseChunks([bytes('data: a\n\n'), bytes('€').slice(0, 2)])).toEqual({
      events: [message('a')],
      clean: false,
    });
  });

  it('refuses an event that outgrows the bound, whether as one endless line or as many data lines', () => {
    expect(() => parse(`data: ${'x'.repeat(64)}`, 32)).toThrow(SseParseError);
    expect(() => parse('data: 12345678\n'.repeat(8), 32)).toThrow(SseParseError);
    expect(parse(`${'data: 1234567\n\n'.repeat(8)}`, 32).events).toHaveLength(8);
  });
});
