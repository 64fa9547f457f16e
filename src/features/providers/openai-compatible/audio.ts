import { z } from 'zod';
import type { Config } from '../../../config';
import { ApiError } from '../../../lib/errors';
import { parseRetryAfter, providerFailure, providerTimeout } from '../errors';
import { upstreamFetch } from '../http';
import type { AudioInput, ProviderContext, ProviderId, SpeechRequest, SpeechResult, Transcript } from '../types';

// OpenAI's audio wire, for every OpenAI-wire vendor: POST /audio/transcriptions (multipart: the file and
// the model; JSON {text} back) and POST /audio/speech (JSON in; the audio bytes back, streamed as the
// vendor sends them). Plain fetches, as the chat calls in ./base.ts are.

export interface AudioSpec {
  id: ProviderId;
  baseUrl(config: Config): string | undefined;
  apiKey(config: Config): string | undefined;
}

const TranscriptionSchema = z.object({ text: z.string(), duration: z.number().nonnegative().optional() });

// What each response_format is served as, when the vendor's own Content-Type says nothing useful.
const FORMAT_TYPES: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  pcm: 'audio/pcm',
};

const deadlinePassed = (signal: AbortSignal) =>
  signal.aborted && signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError';

export function openAIAudio(spec: AudioSpec) {
  const fetchUpstream = upstreamFetch(spec.id);

  // One call under PROVIDER_TIMEOUT_MS until its answer's headers (a speech body then streams on under
  // the caller's signal only); the caller's abort stops it too.
  async function post(
    path: string,
    init: { body: BodyInit; headers: Record<string, string> },
    ctx: ProviderContext,
  ): Promise<{ response: Response; settle(): void; release(): void; failure(err: unknown): ApiError }> {
    const base = spec.baseUrl(ctx.config);
    if (base === undefined) throw providerFailure(spec.id, 'not-configured');
    const key = spec.apiKey(ctx.config);
    let timedOut = false;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, ctx.config.PROVIDER_TIMEOUT_MS);
    const onAbort = () => controller.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => clearTimeout(timer);
    const release = () => {
      settle();
      ctx.signal.removeEventListener('abort', onAbort);
    };
    const failure = (err: unknown): ApiError => {
      if (err instanceof ApiError) return err;
      if (timedOut || deadlinePassed(ctx.signal)) return providerTimeout(spec.id);
      if (ctx.signal.aborted) return providerFailure(spec.id, 'aborted');
      return providerFailure(spec.id, err instanceof SyntaxError ? 'malformed-response' : 'connection');
    };
    try {
      const response = await fetchUpstream(`${base.replace(/\/+$/, '')}${path}`, {
        method: 'POST',
        headers: {
          'user-agent': 'Edgeway',
          ...init.headers,
          ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}),
        },
        body: init.body,
        signal: controller.signal,
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw providerFailure(spec.id, 'status', response.status, parseRetryAfter(response.headers.get('retry-after')));
      }
      return { response, settle, release, failure };
    } catch (err) {
      release();
      throw failure(err);
    }
  }

  return {
    async transcribe(audio: AudioInput, model: string, ctx: ProviderContext): Promise<Transcript> {
      const form = new FormData();
      form.append('file', new File([audio.bytes], audio.filename, { type: audio.mediaType }));
      form.append('model', model);
      form.append('response_format', 'json');
      // No content-type header: fetch writes multipart/form-data with its boundary.
      const call = await post('/audio/transcriptions', { body: form, headers: { accept: 'application/json' } }, ctx);
      let raw: unknown;
      try {
        raw = await call.response.json();
      } catch (err) {
        throw call.failure(err);
      } finally {
        call.release();
      }
      const parsed = TranscriptionSchema.safeParse(raw);
      if (!parsed.success) throw providerFailure(spec.id, 'malformed-response');
      return {
        text: parsed.data.text,
        ...(parsed.data.duration !== undefined ? { durationSeconds: parsed.data.duration } : {}),
      };
    },

    // The body is handed on unread: the caller pipes it to its client as it arrives.
    async speak(request: SpeechRequest, ctx: ProviderContext): Promise<SpeechResult> {
      const body = JSON.stringify({
        model: request.model,
        input: request.input,
        voice: request.voice,
        response_format: request.format,
      });
      const call = await post('/audio/speech', { body, headers: { 'content-type': 'application/json' } }, ctx);
      // Past the headers the caller's signal governs: it stays wired, so a client that goes away stops the body.
      call.settle();
      if (!call.response.body) throw providerFailure(spec.id, 'malformed-response');
      const upstreamType = (call.response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const contentType = upstreamType.startsWith('audio/')
        ? upstreamType
        : (FORMAT_TYPES[request.format] ?? 'application/octet-stream');
      return { contentType, body: call.response.body };
    },
  };
}
