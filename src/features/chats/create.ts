import type { Database } from '../../db/client';
import { chats } from '../../db/schema';
import type { Identity } from '../accounts';
import type { ChatRow } from './access';

export interface NewChat {
  modelId: string;
  modelApiSource: string;
  title?: string | null;
  visibility?: 'private' | 'organization';
}

// A chat owned by the caller, in the caller's organization. The model is the caller's to have checked
// (models' parseTarget) with the field names of its own surface.
export function createChat(db: Database, who: Identity, input: NewChat): Promise<ChatRow> {
  return db
    .insert(chats)
    .values({
      id: crypto.randomUUID(),
      userId: who.userId,
      organizationId: who.organizationId,
      title: input.title ?? null,
      currentModelId: input.modelId,
      currentModelApiSource: input.modelApiSource,
      visibility: input.visibility ?? 'private',
    })
    .returning()
    .get();
}
