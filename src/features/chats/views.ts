import { z } from '@hono/zod-openapi';
import { CHAT_VISIBILITIES, MESSAGE_ROLES, MESSAGE_STATUSES } from '../../db/schema';
import type { ChatRow } from './access';
import type { FileRow, MessageRow } from './queries';

// Seed 004's file, chat and message structures; the fields after the seed's are Edgeway's.
export const FileSchema = z
  .object({
    fileid: z.string(),
    filename: z.string(),
    uploaded_at: z.string(),
    userid: z.string(),
    content_type: z.string(),
    size: z.number().int(),
    object_key: z.string(),
    chat_id: z.string(),
    sha256: z.string(),
  })
  .openapi('ChatFile');

export const ChatSchema = z
  .object({
    chat_id: z.string(),
    user_id: z.string(),
    current_model_id: z.string(),
    current_model_api_source: z.string(),
    created_timestamp: z.string(),
    files: z.array(FileSchema),
    title: z.string().nullable(),
    visibility: z.enum(CHAT_VISIBILITIES),
    organization_id: z.string(),
    updated_at: z.string(),
  })
  .openapi('Chat');

export const MessageSchema = z
  .object({
    message_id: z.string(),
    chat_id: z.string(),
    role: z.enum(MESSAGE_ROLES),
    content: z.string(),
    files: z.array(z.string()),
    timestamp: z.string(),
    user_id: z.string().nullable(),
    model: z.string().nullable(),
    status: z.enum(MESSAGE_STATUSES),
    usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int() }).nullable(),
  })
  .openapi('ChatMessage');

export function fileView(f: FileRow): z.infer<typeof FileSchema> {
  return {
    fileid: f.id,
    filename: f.filename,
    uploaded_at: f.uploadedAt,
    userid: f.userId,
    content_type: f.contentType,
    size: f.size,
    object_key: f.objectKey,
    chat_id: f.chatId,
    sha256: f.sha256,
  };
}

export function chatView(chat: ChatRow, chatFiles: FileRow[]): z.infer<typeof ChatSchema> {
  return {
    chat_id: chat.id,
    user_id: chat.userId,
    current_model_id: chat.currentModelId,
    current_model_api_source: chat.currentModelApiSource,
    created_timestamp: chat.createdAt,
    files: chatFiles.map(fileView),
    title: chat.title,
    visibility: chat.visibility,
    organization_id: chat.organizationId,
    updated_at: chat.updatedAt,
  };
}

export function messageView(m: MessageRow): z.infer<typeof MessageSchema> {
  return {
    message_id: m.id,
    chat_id: m.chatId,
    role: m.role,
    content: m.content,
    files: m.files,
    timestamp: m.createdAt,
    user_id: m.userId,
    model: m.model,
    status: m.status,
    usage:
      m.promptTokens === null && m.completionTokens === null
        ? null
        : { prompt_tokens: m.promptTokens ?? 0, completion_tokens: m.completionTokens ?? 0 },
  };
}
