// The chat API's shapes as the page reads them (docs/api.md "Chats (seed 004)").

export type Visibility = 'private' | 'organization';

export interface ChatFile {
  fileid: string;
  filename: string;
  uploaded_at: string;
  userid: string;
  content_type: string;
  size: number;
  chat_id: string;
}

export interface Chat {
  chat_id: string;
  user_id: string;
  current_model_id: string;
  current_model_api_source: string;
  created_timestamp: string;
  files: ChatFile[];
  title: string | null;
  visibility: Visibility;
  organization_id: string;
  updated_at: string;
}

export interface Message {
  message_id: string;
  chat_id: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  files: string[];
  timestamp: string;
  user_id: string | null;
  model: string | null;
  status: string;
}

export interface Paged<T> {
  data: T[];
  pagination: { total: number; limit: number; offset: number; has_next: boolean; has_prev: boolean };
}

export const chatTitle = (c: Pick<Chat, 'title' | 'chat_id'>): string => c.title || `Chat ${c.chat_id.slice(0, 8)}`;

// The local provider: works with no keys, so a new chat answers out of the box.
export const DEFAULT_MODEL = { model_id: 'edgeway-local', model_api_source: 'local' };
