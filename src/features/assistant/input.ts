import { z } from '@hono/zod-openapi';
import { Buffer } from 'node:buffer';
import type { Config } from '../../config';
import { ApiError } from '../../lib/errors';
import { issuesToDetails } from '../../lib/validation';
import { boundaryOf, MAX_IMAGES_PER_MESSAGE, MultipartReader, type Part } from '../chats';
import { checkMedia, MAX_AUDIO_PER_RUN, type Media, type MediaKind, maxBytes, tooLarge } from './media';

// A run's request, as JSON (media inline as base64) or as multipart/form-data (media as file parts, read
// as they stream in), turned into one shape. Why: docs/design/assistant.md#the-request

const Inline = z
  .object({
    // Base64, or a data: URL (whose type then stands for media_type).
    data: z.string().min(1).openapi({ example: 'iVBORw0KGgoAAAANSUhEUgAAAAQ…' }),
    media_type: z.string().max(100).optional().openapi({ example: 'image/png' }),
    filename: z.string().max(255).optional(),
  })
  .strict();

const Fields = {
  prompt: z.string().min(1).optional().openapi({ example: 'What is in this picture?' }),
  // Seed 002's name for the same thing.
  message: z.string().min(1).optional(),
  model: z.string().trim().min(1).max(200).optional().openapi({ example: 'openai:gpt-4o' }),
  chat_id: z.string().uuid().optional(),
  file_ids: z.array(z.string().min(1).max(64)).max(10).optional(),
  tools: z
    .union([z.literal('all'), z.array(z.string().min(1).max(64)).max(32)])
    .optional()
    .openapi({ example: ['get_time', 'calculator'] }),
  system_prompt: z.string().max(100_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).max(1_000_000).optional(),
  voice: z.string().trim().min(1).max(64).optional(),
  // POST /run answers one JSON run record; only false is accepted (for clients that always send it).
  stream: z.literal(false).optional(),
};

export const RunBody = z
  .object({
    ...Fields,
    images: z.array(Inline).max(MAX_IMAGES_PER_MESSAGE).optional(),
    audio: Inline.optional(),
    video: Inline.optional(),
  })
  .strict()
  .openapi('AssistantRunRequest');
export type RunBody = z.infer<typeof RunBody>;

const FormFields = z.object(Fields).strict();

// The multipart body, for the API document only (a zod schema would make the router buffer the body).
export const RUN_FORM = {
  type: 'object' as const,
  properties: {
    prompt: { type: 'string' as const },
    model: { type: 'string' as const },
    chat_id: { type: 'string' as const },
    file_ids: { type: 'array' as const, items: { type: 'string' as const } },
    tools: { type: 'array' as const, items: { type: 'string' as const }, description: 'names, or "all"' },
    system_prompt: { type: 'string' as const },
    voice: { type: 'string' as const },
    images: { type: 'array' as const, items: { type: 'string' as const, format: 'binary' } },
    audio: { type: 'string' as const, format: 'binary' },
    video: { type: 'string' as const, format: 'binary' },
  },
};

export interface RunRequest {
  prompt: string | undefined;
  model: string | undefined;
  chatId: string | undefined;
  fileIds: string[];
  media: Media[];
  tools: string[] | 'all' | undefined;
  systemPrompt: string | undefined;
  temperature: number | undefined;
  maxTokens: number | undefined;
  voice: string | undefined;
}

const invalid = (field: string, message: string) =>
  new ApiError('VALIDATION_ERROR', message, { details: [{ field, message }] });

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:([^;,]*)(?:;[^,]*)?;base64,/i;

// Base64 (or a data: URL) to bytes; the size is judged on the length before anything is decoded.
function decodeInline(
  item: z.infer<typeof Inline>,
  field: string,
  limit: number,
): { bytes: Uint8Array; declared?: string } {
  let text = item.data;
  let declared = item.media_type;
  const url = DATA_URL.exec(text);
  if (url) {
    declared ??= url[1] || undefined;
    text = text.slice(url[0].length);
  }
  text = text.replace(/\s+/g, '');
  if (text.length % 4 === 1 || !BASE64.test(text)) throw invalid(`${field}.data`, `${field}.data is not valid base64`);
  if (Math.floor((text.length * 3) / 4) - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0) > limit) {
    throw tooLarge(field, limit);
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  return declared !== undefined ? { bytes, declared } : { bytes };
}

function inlineMedia(kind: MediaKind, item: z.infer<typeof Inline>, field: string, config: Config): Media {
  const limit = maxBytes(kind, config.ASSISTANT_MAX_MEDIA_BYTES);
  const { bytes, declared } = decodeInline(item, field, limit);
  const mediaType = checkMedia(kind, declared, bytes, field, config.ASSISTANT_MAX_MEDIA_BYTES);
  return { kind, mediaType, bytes, filename: item.filename ?? `${kind}`, source: 'inline', field };
}

export function fromJson(body: RunBody, config: Config): RunRequest {
  const media: Media[] = [
    ...(body.images ?? []).map((img, i) => inlineMedia('image', img, `images[${i}]`, config)),
    ...(body.audio ? [inlineMedia('audio', body.audio, 'audio', config)] : []),
    ...(body.video ? [inlineMedia('video', body.video, 'video', config)] : []),
  ];
  return {
    prompt: body.prompt ?? body.message,
    model: body.model,
    chatId: body.chat_id,
    fileIds: body.file_ids ?? [],
    media,
    tools: body.tools,
    systemPrompt: body.system_prompt,
    temperature: body.temperature,
    maxTokens: body.max_tokens,
    voice: body.voice,
  };
}

// The file parts' field names and the kind each holds.
const FILE_FIELDS: Record<string, MediaKind> = { images: 'image', image: 'image', audio: 'audio', video: 'video' };
const LIST_FIELDS = new Set(['file_ids', 'tools']);
const NUMBER_FIELDS = new Set(['temperature', 'max_tokens']);
// A text field larger than this is not a prompt (MAX_TEXT_CHARS is checked on the decoded text).
const MAX_FIELD_BYTES = 512 * 1024;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

async function readPart(part: Part, field: string, limit: number): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let size = 0;
  for (let chunk = await part.read(); chunk; chunk = await part.read()) {
    size += chunk.length;
    if (size > limit) throw tooLarge(field, limit);
    // The reader hands on views of its buffer: copied before it reads on.
    pieces.push(chunk.slice());
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Reads a multipart request part by part: each medium is refused as soon as it passes its limit, the
// whole body past MAX_UPLOAD_REQUEST_BYTES; a text field is a form value, a file part a medium.
export async function fromMultipart(
  body: ReadableStream<Uint8Array> | null,
  contentType: string | undefined,
  config: Config,
): Promise<RunRequest> {
  const boundary = boundaryOf(contentType);
  if (!body) throw invalid('body', 'The multipart body is empty');
  const reader = body.getReader();
  let received = 0;
  const pull = async (): Promise<Uint8Array | null> => {
    const next = await reader.read();
    if (next.done) return null;
    received += next.value.byteLength;
    if (received > config.MAX_UPLOAD_REQUEST_BYTES) throw tooLarge('body', config.MAX_UPLOAD_REQUEST_BYTES);
    return next.value;
  };
  const fields: Record<string, unknown> = {};
  const media: Media[] = [];
  const counts: Record<MediaKind, number> = { image: 0, audio: 0, video: 0 };
  try {
    const multipart = new MultipartReader(pull, boundary);
    for (let part = await multipart.nextPart(); part; part = await multipart.nextPart()) {
      const name = part.headers.name.slice(0, 64);
      const kind = FILE_FIELDS[name];
      if (kind !== undefined) {
        const field = kind === 'image' ? `images[${counts.image}]` : kind;
        counts[kind]++;
        if (kind === 'image' && counts.image > MAX_IMAGES_PER_MESSAGE) {
          throw invalid('images', `At most ${MAX_IMAGES_PER_MESSAGE} images per run`);
        }
        if (kind !== 'image' && counts[kind] > (kind === 'audio' ? MAX_AUDIO_PER_RUN : 1)) {
          throw invalid(kind, `Too many ${kind} parts`);
        }
        const bytes = await readPart(part, field, maxBytes(kind, config.ASSISTANT_MAX_MEDIA_BYTES));
        const mediaType = checkMedia(kind, part.headers.contentType, bytes, field, config.ASSISTANT_MAX_MEDIA_BYTES);
        media.push({ kind, mediaType, bytes, filename: part.headers.filename ?? kind, source: 'inline', field });
        continue;
      }
      if (!(name in Fields) || name === 'stream') throw invalid(name, `Unexpected form field "${name}"`);
      let value: string;
      try {
        value = decoder.decode(await readPart(part, name, MAX_FIELD_BYTES));
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw invalid(name, `${name} is not UTF-8 text`);
      }
      if (LIST_FIELDS.has(name)) {
        if (name === 'tools' && value.trim() === 'all') {
          fields.tools = 'all';
          continue;
        }
        const items = value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const before = fields[name];
        fields[name] = [...(Array.isArray(before) ? before : []), ...items];
      } else if (NUMBER_FIELDS.has(name)) {
        fields[name] = value.trim() === '' ? undefined : Number(value);
      } else {
        fields[name] = value;
      }
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
  const parsed = FormFields.safeParse(fields);
  if (!parsed.success)
    throw new ApiError('VALIDATION_ERROR', undefined, { details: issuesToDetails(parsed.error.issues) });
  const f = parsed.data;
  return {
    prompt: f.prompt ?? f.message,
    model: f.model,
    chatId: f.chat_id,
    fileIds: f.file_ids ?? [],
    media,
    tools: f.tools,
    systemPrompt: f.system_prompt,
    temperature: f.temperature,
    maxTokens: f.max_tokens,
    voice: f.voice,
  };
}
