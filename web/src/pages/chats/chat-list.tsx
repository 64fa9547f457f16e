// #/chats: the caller's chats and those shared with their organization, newest first, a page at a time;
// create one; rename, share or unshare, and delete one's own.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, apiList } from '../../lib/api';
import { fmtDate } from '../../lib/format';
import { navigate } from '../../lib/router';
import { getSession } from '../../lib/session';
import { Busy, ErrorNote, Field, Page, useLoad } from '../../ui/components';
import { ChatActions } from './chat-actions';
import { type Chat, chatTitle, DEFAULT_MODEL, type Paged } from './types';

const PAGE = 20;

function CreateChat({ onError }: { onError: (e: unknown) => void }): JSX.Element {
  const [title, setTitle] = useState('');
  const [model, setModel] = useState(`${DEFAULT_MODEL.model_api_source}:${DEFAULT_MODEL.model_id}`);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const [source = '', ...rest] = model.trim().split(':');
    const modelId = rest.join(':');
    setBusy(true);
    onError(null);
    try {
      const chat = await api<Chat>('/api/v1/chat', {
        method: 'POST',
        body: {
          model_api_source: modelId ? source : DEFAULT_MODEL.model_api_source,
          model_id: modelId || source || DEFAULT_MODEL.model_id,
          ...(title.trim() ? { title: title.trim() } : {}),
        },
      });
      navigate(`/chats/${chat.chat_id}`);
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card chat-create" onSubmit={(e) => void submit(e)} aria-labelledby="new-chat">
      <h2 id="new-chat">New chat</h2>
      <div class="row">
        <Field label="Title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} placeholder="Optional" />
        <Field
          label="Model"
          hint="provider:model, e.g. local:edgeway-local"
          value={model}
          onInput={(e) => setModel(e.currentTarget.value)}
          required
        />
        <div class="field">
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create chat'}
          </button>
        </div>
      </div>
    </form>
  );
}

export function ChatList(): JSX.Element {
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const list = useLoad(
    (signal) => apiList<Paged<Chat>>(`/api/v1/chat?limit=${PAGE}&offset=${offset}`, { signal }),
    [offset],
  );
  const me = getSession()?.user.id;
  const chats = list.data?.body.data ?? [];
  const total = list.data?.body.pagination.total ?? list.data?.total ?? 0;
  return (
    <Page title="Chats">
      <CreateChat onError={setError} />
      <ErrorNote error={error ?? list.error} />
      <section class="card" aria-labelledby="chat-list-title">
        <h2 id="chat-list-title">Your chats</h2>
        {list.loading && !list.data ? <Busy label="Loading chats…" /> : null}
        {list.data && chats.length === 0 ? <p class="muted">No chats yet: create one above.</p> : null}
        {chats.length > 0 ? (
          <ul class="chat-list">
            {chats.map((c) => (
              <li key={c.chat_id} class="chat-item">
                <div class="chat-item-main">
                  <a href={`#/chats/${c.chat_id}`}>{chatTitle(c)}</a>
                  <span class="muted small">
                    {c.current_model_api_source}:{c.current_model_id} · {fmtDate(c.updated_at)} · {c.files.length} file
                    {c.files.length === 1 ? '' : 's'}
                  </span>
                </div>
                <span class={`badge${c.visibility === 'organization' ? ' ok' : ''}`}>
                  {c.visibility === 'organization' ? 'Shared with organization' : 'Private'}
                </span>
                {c.user_id === me ? (
                  <ChatActions chat={c} onChanged={list.reload} onDeleted={list.reload} onError={setError} />
                ) : (
                  <span class="muted small">Shared with you</span>
                )}
              </li>
            ))}
          </ul>
        ) : null}
        {total > PAGE ? (
          <nav class="row pager" aria-label="Chat pages">
            <button
              type="button"
              class="secondary"
              disabled={offset === 0}
              onClick={() => setOffset(Math.max(0, offset - PAGE))}
            >
              Previous
            </button>
            <span class="muted small" aria-live="polite">
              {offset + 1}–{Math.min(offset + PAGE, total)} of {total}
            </span>
            <button
              type="button"
              class="secondary"
              disabled={offset + PAGE >= total}
              onClick={() => setOffset(offset + PAGE)}
            >
              Next
            </button>
          </nav>
        ) : null}
      </section>
    </Page>
  );
}
