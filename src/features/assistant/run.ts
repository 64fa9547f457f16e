import type { Context } from 'hono';
import { getDb } from '../../db/client';
import type { AssistantRunInput, AssistantToolCall } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { type Identity } from '../accounts';
import { chatFor, modelSpec } from '../chats';
import { beginCall, type ChatCall, pipelineDeps, runChat, seesImages } from '../gateway';
import { parseTarget, requireConfigured, type Target } from '../models';
import type { ChatMessage, ChatResult, ContentPart, ImagePart, ToolDefinition } from '../providers';
import { runToolLoop, toolDefinitions, toolNames, type ToolLoopResult } from '../tools';
import { fileInputs } from './files';
import type { RunRequest } from './input';
import { isImageType, type Media } from './media';
import { insertRun, type RunRow } from './store';
import { Buffer } from 'node:buffer';

// One run of the assistant: everything the request names is resolved and checked first (chat, files,
// media against their bytes, the modalities the model takes, the tools, the audio models), then the
// call is admitted (quota), audio is transcribed, the model answers — through the tool loop when tools
// were asked for, else one gateway call — and the run is stored. A run refused before admission stores
// nothing. Why: docs/design/assistant.md

export type AnswerMode = 'text' | 'audio';

export interface Prepared {
  who: Identity;
  chatId: string | null;
  // What the model is called with: the caller's model, else the chat's, else the default.
  model: string | undefined;
  target: Target;
  media: Media[];
  texts: string[];
  tools: ToolDefinition[];
  transcriber: Target | undefined;
}

// "provider:model", as the run records it.
const shown = (t: Target) => `${t.provider.id}:${t.model}`;

const refused = (field: string, message: string) =>
  new ApiError('VALIDATION_ERROR', message, { details: [{ field, message }] });

// The audio model of a config key, which must be configured and speak the audio wire (503 otherwise:
// the deployment's doing, not the caller's).
export function audioTarget(
  c: Context<AppEnv>,
  key: 'ASSISTANT_TRANSCRIPTION_MODEL' | 'ASSISTANT_SPEECH_MODEL',
): Target {
  const config = c.var.config;
  const target = parseTarget(config[key], config, key);
  requireConfigured(target, config);
  const able = key === 'ASSISTANT_TRANSCRIPTION_MODEL' ? target.provider.transcribe : target.provider.speak;
  if (!able) {
    throw new ApiError(
      'SERVICE_UNAVAILABLE',
      `${key} names ${shown(target)}, but provider '${target.provider.id}' has no ${key === 'ASSISTANT_SPEECH_MODEL' ? 'speech' : 'transcription'} API`,
    );
  }
  return target;
}

export async function prepare(c: Context<AppEnv>, who: Identity, req: RunRequest): Promise<Prepared> {
  const config = c.var.config;
  const db = getDb(c.env.DB);
  if (req.prompt !== undefined && req.prompt.length > config.MAX_TEXT_CHARS) {
    throw refused('prompt', `Must be at most ${config.MAX_TEXT_CHARS} characters`);
  }
  const chat = req.chatId !== undefined ? await chatFor(db, who, req.chatId, 'read') : undefined;
  const model = req.model ?? (chat ? modelSpec(chat) : undefined);
  const target = parseTarget(model, config);
  const name = shown(target);
  const stored = await fileInputs(db, c.env.FILES, who, req.fileIds, name, config.ASSISTANT_MAX_MEDIA_BYTES);
  const media = [...req.media, ...stored.media];
  // Workers cannot decode video (no codecs, no ffmpeg, 128 MB isolates): refused, never dropped.
  const video = media.find((m) => m.kind === 'video');
  if (video) {
    throw refused(
      video.field,
      `video input (${video.mediaType}) cannot be sent to ${name}: this deployment cannot sample video to frames; send frames as images instead`,
    );
  }
  const images = media.filter((m) => m.kind === 'image');
  if (images.length > 0 && !seesImages(target.entry, target.provider.id)) {
    throw refused(
      images[0]?.field ?? 'images',
      `image input cannot be sent to ${name}: it takes no image input (choose a model with the 'vision' capability)`,
    );
  }
  const hasAudio = media.some((m) => m.kind === 'audio');
  if ((req.prompt ?? '').trim() === '' && !hasAudio && images.length === 0 && stored.texts.length === 0) {
    throw refused('prompt', 'Give a prompt, or audio to transcribe');
  }
  const tools =
    req.tools === undefined ? [] : toolDefinitions(config, req.tools === 'all' ? toolNames(config) : req.tools);
  requireConfigured(target, config);
  return {
    who,
    chatId: chat?.id ?? null,
    model,
    target,
    media,
    texts: stored.texts,
    tools,
    transcriber: hasAudio ? audioTarget(c, 'ASSISTANT_TRANSCRIPTION_MODEL') : undefined,
  };
}

// Every audio input's words, in order (several are labelled by file name).
async function transcribe(c: Context<AppEnv>, p: Prepared, signal: AbortSignal): Promise<string | null> {
  const audio = p.media.filter((m) => m.kind === 'audio');
  if (audio.length === 0 || !p.transcriber) return null;
  const { provider, model } = p.transcriber;
  const ctx = { config: c.var.config, signal };
  const texts: string[] = [];
  for (const a of audio) {
    // audioTarget checked that the provider has it.
    const t = await provider.transcribe?.({ bytes: a.bytes, mediaType: a.mediaType, filename: a.filename }, model, ctx);
    texts.push(audio.length === 1 ? (t?.text ?? '') : `[${a.filename}] ${t?.text ?? ''}`);
  }
  return texts.join('\n');
}

function userMessage(prompt: string, transcript: string | null, p: Prepared): ChatMessage['content'] {
  const words = [
    prompt,
    ...(transcript !== null && transcript !== '' ? [`[audio transcript]\n${transcript}`] : []),
    ...p.texts,
  ]
    .filter((s) => s.trim() !== '')
    .join('\n\n');
  const images: ImagePart[] = p.media
    .filter((m) => m.kind === 'image' && isImageType(m.mediaType))
    .map((m) => ({
      type: 'image',
      mediaType: m.mediaType as ImagePart['mediaType'],
      data: Buffer.from(m.bytes).toString('base64'),
    }));
  if (images.length === 0) return words;
  const parts: ContentPart[] = [...images, { type: 'text', text: words }];
  return parts;
}

interface Answered {
  result: ChatResult;
  model: string;
  loop: ToolLoopResult | undefined;
}

const toolCallsOf = (loop: ToolLoopResult | undefined): AssistantToolCall[] =>
  (loop?.toolCalls ?? []).map((t) => ({
    id: t.id,
    round: t.round,
    name: t.name,
    arguments: t.arguments,
    result: t.result,
    error: t.error,
    duration_ms: Math.round(t.durationMs),
  }));

const inputsOf = (media: Media[]): AssistantRunInput[] =>
  media.map((m) => ({
    kind: m.kind,
    media_type: m.mediaType,
    bytes: m.bytes.length,
    source: m.source,
    ...(m.fileId !== undefined ? { file_id: m.fileId } : {}),
  }));

// Admits, transcribes, answers and stores the run (a failure after admission is stored as a failed run,
// then passed on).
export async function execute(
  c: Context<AppEnv>,
  p: Prepared,
  req: RunRequest,
  mode: AnswerMode,
): Promise<{ row: RunRow; signal: AbortSignal }> {
  const config = c.var.config;
  const db = getDb(c.env.DB);
  const base = await beginCall(c, 'assistant');
  const id = crypto.randomUUID();
  const createdAt = new Date().toISOString();
  const prompt = req.prompt ?? '';
  let transcript: string | null = null;
  const common = {
    id,
    userId: p.who.userId,
    organizationId: p.who.organizationId,
    chatId: p.chatId,
    requestId: c.var.requestId,
    answerMode: mode,
    prompt,
    createdAt,
    inputs: inputsOf(p.media),
  };
  let answered: Answered;
  try {
    transcript = await transcribe(c, p, base.signal);
    const messages: ChatMessage[] = [
      ...(req.systemPrompt ? [{ role: 'system' as const, content: req.systemPrompt }] : []),
      { role: 'user', content: userMessage(prompt, transcript, p) },
    ];
    const call: ChatCall = {
      ...base,
      ...(p.model !== undefined ? { model: p.model } : {}),
      messages,
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.maxTokens !== undefined ? { maxTokens: req.maxTokens } : {}),
      // The request log's text: the caller's words, else what they said.
      text: prompt || transcript || '',
    };
    const deps = pipelineDeps(c);
    if (p.tools.length > 0) {
      const loop = await runToolLoop(deps, call, p.tools, {
        env: c.env,
        config,
        db,
        userId: p.who.userId,
        organizationId: p.who.organizationId,
        signal: base.signal,
      });
      answered = { result: loop.result, model: `${p.target.provider.id}:${loop.result.model || p.target.model}`, loop };
    } else {
      const outcome = await runChat(deps, call);
      answered = {
        result: outcome.result,
        model: `${outcome.target.provider.id}:${outcome.result.model || outcome.target.model}`,
        loop: undefined,
      };
    }
  } catch (err) {
    const code = err instanceof ApiError ? err.code : 'INTERNAL_ERROR';
    await insertRun(db, {
      ...common,
      model: shown(p.target),
      transcript,
      status: 'failed',
      errorCode: code,
      completedAt: new Date().toISOString(),
    }).catch((e: unknown) => c.var.log.error('assistant: storing a failed run failed', { error: String(e) }));
    throw err;
  }
  const { result, loop } = answered;
  const row = await insertRun(db, {
    ...common,
    model: answered.model,
    transcript,
    answer: result.text,
    toolCalls: toolCallsOf(loop),
    rounds: loop?.rounds ?? 1,
    stoppedBy: loop?.stoppedBy ?? 'answer',
    status: 'completed',
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    totalTokens: result.usage.totalTokens,
    completedAt: new Date().toISOString(),
  });
  return { row, signal: base.signal };
}
