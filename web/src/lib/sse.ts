// Server-sent events over fetch: POST bodies and bearer tokens (EventSource can send neither), read as the
// bytes arrive so a page can show each token as it comes. Ends when the server ends the stream or the
// caller aborts.
import { request, type CallOptions } from './api';

export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

// `onOpen` sees the response before its body (headers such as X-Cache-Status and X-Request-ID).
export async function streamSse(
  path: string,
  opts: CallOptions,
  onEvent: (e: SseEvent) => void,
  onOpen?: (res: Response) => void,
): Promise<void> {
  const res = await request(path, { ...opts, headers: { accept: 'text/event-stream', ...(opts.headers ?? {}) } });
  onOpen?.(res);
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  let id: string | null = null;
  const dispatch = () => {
    if (data.length > 0) onEvent({ event, data: data.join('\n'), id });
    event = 'message';
    data = [];
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let nl: number;
    while ((nl = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(buffer[nl] === '\r' ? nl + 2 : nl + 1);
      if (line === '') dispatch();
      else if (line.startsWith(':')) continue;
      else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(val);
        else if (field === 'event') event = val;
        else if (field === 'id') id = val;
      }
    }
  }
  dispatch();
}
