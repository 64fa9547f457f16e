// The owner's actions on a chat, in the list and on the chat itself: rename (inline), share with the
// organization or make private again, delete (asked twice).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { type Chat, chatTitle } from './types';

interface Props {
  chat: Chat;
  onChanged: (chat: Chat) => void;
  onDeleted: () => void;
  onError: (e: unknown) => void;
}

export function ChatActions({ chat, onChanged, onDeleted, onError }: Props): JSX.Element {
  const [renaming, setRenaming] = useState(false);
  const [title, setTitle] = useState(chat.title ?? '');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const name = chatTitle(chat);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    onError(null);
    try {
      await work();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  const patch = (body: Partial<Pick<Chat, 'title' | 'visibility'>>) =>
    run(async () => {
      onChanged(await api<Chat>(`/api/v1/chat/${chat.chat_id}`, { method: 'PATCH', body }));
    });

  if (renaming) {
    return (
      <form
        class="row chat-actions"
        onSubmit={(e) => {
          e.preventDefault();
          void patch({ title: title.trim() || null }).then(() => setRenaming(false));
        }}
      >
        <label class="visually-hidden" for={`rename-${chat.chat_id}`}>
          New title for {name}
        </label>
        <input
          id={`rename-${chat.chat_id}`}
          value={title}
          onInput={(e) => setTitle(e.currentTarget.value)}
          onKeyDown={(e) => e.key === 'Escape' && setRenaming(false)}
          autoFocus
        />
        <button type="submit" disabled={busy}>
          Save
        </button>
        <button type="button" class="secondary" onClick={() => setRenaming(false)}>
          Cancel
        </button>
      </form>
    );
  }
  const shared = chat.visibility === 'organization';
  return (
    <div class="row chat-actions">
      <button type="button" class="secondary" aria-label={`Rename ${name}`} onClick={() => setRenaming(true)}>
        Rename
      </button>
      <button
        type="button"
        class="secondary"
        disabled={busy}
        aria-label={shared ? `Make private (${name})` : `Share with the organization (${name})`}
        onClick={() => void patch({ visibility: shared ? 'private' : 'organization' })}
      >
        {shared ? 'Make private' : 'Share'}
      </button>
      {confirming ? (
        <>
          <button
            type="button"
            class="danger"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                await api(`/api/v1/chat/${chat.chat_id}`, { method: 'DELETE' });
                onDeleted();
              })
            }
          >
            Delete for good
          </button>
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </>
      ) : (
        <button type="button" class="secondary" aria-label={`Delete ${name}`} onClick={() => setConfirming(true)}>
          Delete
        </button>
      )}
    </div>
  );
}
