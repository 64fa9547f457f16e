// Amazon Bedrock through its model-neutral Converse API, signed with SigV4 (aws4fetch).
import { AwsClient } from 'aws4fetch';
import type { Config } from '../../../config';
import { ApiError } from '../../../lib/errors';
import { parseRetryAfter, providerFailure, providerTimeout } from '../errors';
import { upstreamFetch } from '../http';
import type { ChatRequest, ChatResult, Provider, ProviderContext, StreamEvent } from '../types';
import { abortable, startDeadline, type Deadline } from './deadline';
import { EventStreamDecoder, EventStreamError } from './event-stream';
import {
  answerOf,
  BEDROCK,
  converseBody,
  ConverseResponseSchema,
  ConverseStreamState,
  errorName,
  finishReason,
  structuredOf,
  usageOf,
} from './wire';
import { checkedToolCalls } from '../tools';

const EVENT_STREAM = 'application/vnd.amazon.eventstream';

function region(config: Config): string | undefined {
  const r = config.AWS_REGION?.trim();
  // It becomes part of a host name; anything else is treated as unset.
  return r && /^[a-z0-9-]+$/.test(r) ? r : undefined;
}

function baseUrl(config: Config): string | undefined {
  const r = region(config);
  return config.BEDROCK_BASE_URL ?? (r === undefined ? undefined : `https://bedrock-runtime.${r}.amazonaws.com`);
}

const clients = new WeakMap<Config, AwsClient>();

// aws4fetch's own fetch() retries and follows redirects, so it only signs; upstreamFetch sends.
function client(config: Config): AwsClient {
  let c = clients.get(config);
  if (!c) {
    const r = region(config);
    if (config.AWS_ACCESS_KEY_ID === undefined || config.AWS_SECRET_ACCESS_KEY === undefined || r === undefined) {
      throw new ApiError('SERVICE_UNAVAILABLE', 'The bedrock provider is not configured');
    }
    c = new AwsClient({
      accessKeyId: config.AWS_ACCESS_KEY_ID,
      secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
      service: 'bedrock',
      region: r,
      retries: 0,
    });
    clients.set(config, c);
  }
  return c;
}

async function send(
  request: ChatRequest,
  config: Config,
  action: 'converse' | 'converse-stream',
  signal: AbortSignal,
): Promise<Response> {
  const url = `${baseUrl(config) ?? ''}/model/${encodeURIComponent(request.model)}/${action}`;
  const body = JSON.stringify(converseBody(request));
  const signed = await client(config).sign(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: action === 'converse' ? 'application/json' : EVENT_STREAM,
    },
    body,
  });
  // The signed Request only lends its headers; the body that was signed goes as the same string.
  return upstreamFetch(BEDROCK)(url, { method: 'POST', headers: signed.headers, body, signal });
}

// Error bodies are never read into our records: the status and AWS's error name say enough.
async function httpFailure(res: Response): Promise<ApiError> {
  await res.body?.cancel().catch(() => undefined);
  const name = errorName(res.headers.get('x-amzn-errortype'));
  return providerFailure(
    BEDROCK,
    name ? `status:${name}` : 'status',
    res.status,
    parseRetryAfter(res.headers.get('retry-after')),
  );
}

function mapError(err: unknown, deadline: Deadline, signal: AbortSignal): ApiError {
  if (deadline.timedOut()) return providerTimeout(BEDROCK);
  if (signal.aborted) return providerFailure(BEDROCK, 'aborted');
  if (err instanceof ApiError) return err;
  if (err instanceof EventStreamError) return providerFailure(BEDROCK, 'malformed-event-stream');
  return providerFailure(BEDROCK, 'connection');
}

export const bedrockProvider: Provider = {
  id: BEDROCK,
  defaultModel: () => 'anthropic.claude-3-haiku-20240307-v1:0',
  isConfigured: (config) =>
    config.AWS_ACCESS_KEY_ID !== undefined &&
    config.AWS_SECRET_ACCESS_KEY !== undefined &&
    region(config) !== undefined,

  async complete(request: ChatRequest, ctx: ProviderContext): Promise<ChatResult> {
    const deadline = startDeadline(ctx.config.PROVIDER_TIMEOUT_MS, ctx.signal);
    try {
      const res = await send(request, ctx.config, 'converse', deadline.signal);
      if (!res.ok) throw await httpFailure(res);
      const raw = await abortable(res.text(), deadline.signal);
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw providerFailure(BEDROCK, 'malformed-response');
      }
      const parsed = ConverseResponseSchema.safeParse(json);
      if (!parsed.success) throw providerFailure(BEDROCK, 'malformed-response');
      const { text, toolCalls } = answerOf(parsed.data.output.message.content, structuredOf(request));
      checkedToolCalls(BEDROCK, toolCalls);
      const reason = finishReason(parsed.data.stopReason);
      return {
        text,
        model: request.model,
        finishReason: toolCalls.length > 0 ? 'tool_calls' : reason === 'tool_calls' ? 'stop' : reason,
        usage: usageOf(parsed.data.usage),
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
      };
    } catch (err) {
      throw mapError(err, deadline, ctx.signal);
    } finally {
      deadline.dispose();
    }
  },

  async *stream(request: ChatRequest, ctx: ProviderContext): AsyncIterable<StreamEvent> {
    const deadline = startDeadline(ctx.config.PROVIDER_TIMEOUT_MS, ctx.signal);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let drained = false;
    try {
      const res = await send(request, ctx.config, 'converse-stream', deadline.signal);
      if (!res.ok) throw await httpFailure(res);
      if (!res.body || !(res.headers.get('content-type') ?? '').toLowerCase().startsWith(EVENT_STREAM)) {
        await res.body?.cancel().catch(() => undefined);
        throw providerFailure(BEDROCK, 'unexpected-content-type');
      }
      reader = res.body.getReader();
      const decoder = new EventStreamDecoder();
      const state = new ConverseStreamState(request.model, structuredOf(request));
      for (;;) {
        deadline.arm();
        const { done, value } = await abortable(reader.read(), deadline.signal);
        // While the consumer holds a delta, the upstream is not being waited on.
        deadline.pause();
        if (done) break;
        for (const event of decoder.push(value)) yield* state.events(event);
      }
      drained = true;
      if (decoder.buffered > 0) throw providerFailure(BEDROCK, 'truncated-event-stream');
      yield state.done();
    } catch (err) {
      throw mapError(err, deadline, ctx.signal);
    } finally {
      deadline.dispose();
      // Closes the upstream connection when we stop early (error, or the consumer went away). Note
      // workerd#501: aborting a fetch body with a read pending logs a spurious unhandled rejection.
      if (!drained) await reader?.cancel().catch(() => undefined);
    }
  },
};
