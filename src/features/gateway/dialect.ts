import type { z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../../config';
import type { AppEnv } from '../../env';
import type { ApiError } from '../../lib/errors';
import type { SseEncoder } from '../../lib/sse';
import type { ChatMessage } from '../providers';
import type { ChatCall, ChatOutcome, GatewayStreamEvent } from './pipeline';

// What a dialect asks of the pipeline: one call, in the gateway's own terms.
export type ChatInput = Pick<
  ChatCall,
  'model' | 'fallbacks' | 'temperature' | 'maxTokens' | 'topP' | 'stop' | 'tools' | 'toolChoice' | 'responseFormat'
> & {
  messages: ChatMessage[];
  // Stored as the request's `text`; the last user message when absent.
  text?: string;
};

// The error body a surface answers with. Set per request by the surface or route that speaks the dialect,
// so the one error handler needs no knowledge of URLs or dialects.
export type ErrorBody = (err: ApiError, requestId: string) => unknown;

/**
 * A chat dialect translates shapes and nothing else: its request body into a gateway call, the outcome
 * into its answer, the pipeline's events into its stream frames, and errors into its error body.
 * `chatEndpoint` does the rest (admission, the stream-or-complete branch, headers).
 *
 * @example
 * chatEndpoint(router, openaiDialect, { path: '/chat/completions', operationId: 'createChatCompletion', ... })
 */
export interface Dialect<Req, Ans> {
  // Recorded as the request's dialect; `streamName` instead when the answer streams.
  name: string;
  streamName?: string;
  request: z.ZodType<Req>;
  answer: z.ZodType<Ans>;
  toCall(body: Req, config: Config): ChatInput;
  wantsStream(body: Req): boolean;
  body(outcome: ChatOutcome, requestId: string): Ans;
  // Absent for dialects that never stream.
  encoder?(body: Req, requestId: string): SseEncoder<GatewayStreamEvent>;
  error: ErrorBody;
  // The schema of `error`'s body, for the API document; the platform envelope when absent.
  errorSchema?: z.ZodType;
  // 200 unless the dialect says otherwise (the requests endpoint answers 201 with the stored row's id).
  status?: 200 | 201;
  awaitRecord?: boolean;
}

// Declares which error body the rest of this request answers with.
export function speaks(error: ErrorBody): MiddlewareHandler<AppEnv> {
  return async function speaksDialect(c, next) {
    c.set('errorBody', error);
    await next();
  };
}
