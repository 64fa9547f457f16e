// One streamed answer from the platform endpoint (POST /api/v1/chat/completion with stream: true), read frame
// by frame: {chunk,index} pieces, then {finished:true, usage…} — or {finished:true, error} in band when the
// provider fails after the stream started. The page's own clock gives time to first token and total.
import { ApiProblem } from '../../lib/api';
import { streamSse } from '../../lib/sse';
import type { Usage } from './catalogue';
import { platformBody, type PlaygroundRequest } from './snippets';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

export interface StreamMeta {
  cacheStatus: CacheStatus | null;
  // Only on a semantic hit; an exact hit has none.
  similarity: number | null;
  requestId: string | null;
}

export interface StreamResult {
  usage: Usage | null;
  finishReason: string | null;
  model: string | null;
  firstTokenMs: number | null;
  totalMs: number;
}

interface Frame {
  chunk?: string;
  index?: number;
  finished?: boolean;
  model?: string;
  finish_reason?: string;
  request_id?: string;
  usage?: Usage;
  error?: { code?: string; message?: string; request_id?: string; details?: { field: string; message: string }[] };
}

export interface StreamHandlers {
  onOpen(meta: StreamMeta): void;
  onText(text: string, firstTokenMs: number): void;
}

function metaOf(res: Response): StreamMeta {
  const status = res.headers.get('x-cache-status');
  const similarity = res.headers.get('x-cache-similarity');
  return {
    cacheStatus: status === 'HIT' || status === 'MISS' || status === 'BYPASS' ? status : null,
    similarity: similarity === null || similarity === '' ? null : Number(similarity),
    requestId: res.headers.get('x-request-id'),
  };
}

// Resolves with the usage when the stream finishes; rejects with an ApiProblem (HTTP or in-band error) or
// the AbortError of `signal` when the person stops it.
export async function runStream(
  req: PlaygroundRequest,
  opts: { signal: AbortSignal; useCache: boolean },
  on: StreamHandlers,
): Promise<StreamResult> {
  const started = performance.now();
  let text = '';
  let firstTokenMs: number | null = null;
  let requestId: string | null = null;
  let end: Frame | null = null;
  await streamSse(
    '/api/v1/chat/completion',
    {
      body: platformBody(req),
      signal: opts.signal,
      // no-cache: do not answer from the cache (the answer is still stored for the next caller). The wish is
      // always stated: a browser with its cache disabled (DevTools' "Disable cache", or a test driver that
      // intercepts requests) adds `no-cache` to any request that has no Cache-Control of its own, and the
      // playground would then never show a hit. max-stale: any cached answer will do.
      headers: { 'cache-control': opts.useCache ? 'max-stale' : 'no-cache' },
    },
    (e) => {
      let frame: Frame;
      try {
        frame = JSON.parse(e.data) as Frame;
      } catch {
        return; // Not one of ours (a proxy's comment line): nothing to show.
      }
      if (typeof frame.chunk === 'string') {
        firstTokenMs ??= performance.now() - started;
        text += frame.chunk;
        on.onText(text, firstTokenMs);
      }
      if (frame.finished) end = frame;
    },
    (res) => {
      const meta = metaOf(res);
      requestId = meta.requestId;
      on.onOpen(meta);
    },
  );
  const totalMs = performance.now() - started;
  const last = end as Frame | null;
  if (last?.error) {
    const e = last.error;
    throw new ApiProblem(200, e.code ?? 'ERROR', e.message ?? '', e.request_id ?? requestId, e.details ?? []);
  }
  if (!last) {
    throw new ApiProblem(
      200,
      'STREAM_CUT',
      'The answer stopped before it finished (the connection closed).',
      requestId,
    );
  }
  return {
    usage: last.usage ?? null,
    finishReason: last.finish_reason ?? null,
    model: last.model ?? null,
    firstTokenMs,
    totalMs,
  };
}
