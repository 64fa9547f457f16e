import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { getDb } from '../../db/client';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { createRouter, errorResponses } from '../../lib/router';
import { atLeast, protect, signedIn, SIGNED_IN } from '../accounts';
import { fromJson, fromMultipart, RUN_FORM, RunBody, type RunRequest } from './input';
import { audioTarget, execute, prepare } from './run';
import { findRun } from './store';
import { RunSchema, runView } from './views';

// The assistant (seed 004): POST /run answers a multimodal run as JSON, POST /run/audio the same run as
// speech; GET /run/{run_id} reads one of the caller's runs back. Why: docs/design/assistant.md
export const assistantRoutes = createRouter();

const RUN_DESCRIPTION =
  'Text, images, audio and video, inline (JSON, base64) or as multipart parts (`images`, `audio`, `video`), or by ' +
  "`file_ids` of files in the caller's chats. Every medium is checked against its bytes (400 when mislabelled, 413 " +
  'past ASSISTANT_MAX_MEDIA_BYTES). Images go to vision models only (400 naming the model otherwise); audio is ' +
  'transcribed by ASSISTANT_TRANSCRIPTION_MODEL; video is refused with a 400 naming the modality and the model ' +
  '(Workers cannot decode it). With `tools` the model may call them (bounded by TOOL_MAX_ROUNDS, ' +
  'TOOL_LOOP_DEADLINE_MS and TOOL_TIMEOUT_MS); each call and its result is in the answer. The run is stored.';

// OpenAI's limit on /audio/speech input.
const MAX_SPEECH_CHARS = 4096;

const requestBody = {
  required: false,
  content: {
    'application/json': { schema: RunBody },
    'multipart/form-data': { schema: RUN_FORM },
  },
};

// Either body; the JSON one the router has already validated.
async function runRequest(c: Context<AppEnv>): Promise<RunRequest> {
  const type = c.req.header('content-type') ?? '';
  if (/^multipart\/form-data/i.test(type)) return fromMultipart(c.req.raw.body, type, c.var.config);
  if (/^application\/(.+\+)?json/i.test(type)) {
    return fromJson((c.req as unknown as { valid(t: 'json'): RunBody }).valid('json'), c.var.config);
  }
  throw new ApiError('VALIDATION_ERROR', 'Send the run as application/json or multipart/form-data', {
    details: [{ field: 'content-type', message: 'must be application/json or multipart/form-data' }],
  });
}

assistantRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/run',
    operationId: 'runAssistant',
    tags: ['assistant'],
    summary: 'Run the assistant on text, images, audio and video, with tools (seed 004)',
    description: RUN_DESCRIPTION,
    middleware: [protect(atLeast('member'))],
    request: { body: requestBody },
    responses: {
      200: { description: 'The stored run', content: { 'application/json': { schema: RunSchema } } },
      ...errorResponses(400, 401, 403, 404, 413, 429, 502, 503, 504),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const req = await runRequest(c);
    const prepared = await prepare(c, who, req);
    const { row } = await execute(c, prepared, req, 'text');
    return c.json(runView(row), 200, { 'X-Run-Id': row.id });
  },
);

assistantRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/run/audio',
    operationId: 'runAssistantAudio',
    tags: ['assistant'],
    summary: 'Run the assistant and answer as speech (seed 004)',
    description:
      `${RUN_DESCRIPTION} The answer is spoken by ASSISTANT_SPEECH_MODEL (voice: \`voice\` or ` +
      'ASSISTANT_SPEECH_VOICE, format ASSISTANT_SPEECH_FORMAT) and streamed as the provider sends it; the run ' +
      '(its text answer, transcript and tool calls) is GET /run/{X-Run-Id}.',
    middleware: [protect(atLeast('member'))],
    request: { body: requestBody },
    responses: {
      200: {
        description: 'The spoken answer; X-Run-Id names the stored run',
        content: {
          'audio/wav': { schema: { type: 'string', format: 'binary' } },
          'audio/mpeg': { schema: { type: 'string', format: 'binary' } },
        },
      },
      ...errorResponses(400, 401, 403, 404, 413, 429, 502, 503, 504),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const req = await runRequest(c);
    const prepared = await prepare(c, who, req);
    // Checked before admission: a deployment that cannot speak refuses before anything is charged.
    const speaker = audioTarget(c, 'ASSISTANT_SPEECH_MODEL');
    const config = c.var.config;
    const { row, signal } = await execute(c, prepared, req, 'audio');
    const speech = await speaker.provider.speak?.(
      {
        model: speaker.model,
        // Vendors refuse empty input, and OpenAI input past 4,096 characters: the text answer (whole in the
        // stored run) is spoken up to that length.
        input: ((row.answer ?? '').trim() || 'No answer.').slice(0, MAX_SPEECH_CHARS),
        voice: req.voice ?? config.ASSISTANT_SPEECH_VOICE,
        format: config.ASSISTANT_SPEECH_FORMAT,
      },
      { config, signal },
    );
    if (!speech) throw new ApiError('SERVICE_UNAVAILABLE', 'The speech provider gave no audio');
    // Piped through as it arrives: the provider's chunks reach the client without being gathered here.
    return new Response(speech.body, {
      status: 200,
      headers: { 'content-type': speech.contentType, 'x-run-id': row.id, 'cache-control': 'no-store' },
    });
  },
);

assistantRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/run/{run_id}',
    operationId: 'getAssistantRun',
    tags: ['assistant'],
    summary: "One of the caller's runs, with its transcript, tool calls and usage",
    middleware: [protect(SIGNED_IN)],
    request: {
      params: z.object({
        run_id: z
          .string()
          .max(64)
          .openapi({ param: { name: 'run_id', in: 'path' } }),
      }),
    },
    responses: {
      200: { description: 'The run', content: { 'application/json': { schema: RunSchema } } },
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    const who = await signedIn(c);
    const row = await findRun(getDb(c.env.DB), who.userId, c.req.valid('param').run_id);
    if (!row) throw new ApiError('RESOURCE_NOT_FOUND', 'Run not found');
    return c.json(runView(row), 200);
  },
);
