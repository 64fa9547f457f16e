// #/chats/<id>: one chat. Its messages, the composer (files attached by the picker or by dropping them on
// the chat, uploaded with a progress bar each), the answer streaming in, and — the chat being a live room —
// who is here, who is typing, and everyone's messages and answers as they happen.
import type { JSX } from 'preact';
import { useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { api, ApiProblem } from '../../lib/api';
import { fmtDate } from '../../lib/format';
import { Markdown } from '../../lib/markdown';
import { navigate } from '../../lib/router';
import { getSession } from '../../lib/session';
import { streamSse } from '../../lib/sse';
import { Busy, ErrorNote, Page, useLoad } from '../../ui/components';
import { ChatActions } from './chat-actions';
import { downloadFile, FilesPanel, type UploadState } from './files-panel';
import { usePeople } from './people';
import { type RoomStatus, useRoom } from './room';
import { EMPTY, generationText, transcriptReducer } from './transcript';
import { type Chat, type ChatFile, chatTitle, type Message, type Paged } from './types';
import { uploadFiles } from './upload';

// Typing frames: at most one "typing" per interval while keys are pressed; "stopped" after a pause.
const TYPING_EVERY_MS = 2500;
const TYPING_IDLE_MS = 4000;

async function loadMessages(chatId: string, signal: AbortSignal): Promise<Message[]> {
  // Oldest first: the last page is the recent conversation.
  const first = await api<Paged<Message>>(`/api/v1/chat/${chatId}/messages?limit=100`, { signal });
  const total = first.pagination.total;
  if (total <= 100) return first.data;
  return (await api<Paged<Message>>(`/api/v1/chat/${chatId}/messages?limit=100&offset=${total - 100}`, { signal }))
    .data;
}

const STATUS_WORDS: Record<RoomStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  offline: 'Offline: reconnecting',
};

interface Sse {
  type?: string;
  message?: Message;
  chunk?: string;
  index?: number;
  finished?: boolean;
  error?: { code?: string; message?: string; request_id?: string };
}

export function ChatView({ chatId }: { chatId: string }): JSX.Element {
  const session = getSession();
  const me = session?.user.id;
  const loaded = useLoad((signal) => api<Chat>(`/api/v1/chat/${chatId}`, { signal }), [chatId]);
  const [chat, setChat] = useState<Chat | null>(null);
  useEffect(() => setChat(loaded.data), [loaded.data]);
  const [transcript, dispatch] = useReducer(transcriptReducer, EMPTY);
  const room = useRoom(chatId, dispatch);
  const name = usePeople();
  const [error, setError] = useState<unknown>(null);
  const [text, setText] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [uploads, setUploads] = useState<UploadState[]>([]);
  const [sending, setSending] = useState<{ turnId: string | null; abort: AbortController } | null>(null);
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const logEnd = useRef<HTMLLIElement>(null);
  const typingSent = useRef(0);
  const typingIdle = useRef<ReturnType<typeof setTimeout> | null>(null);
  const uploadSeq = useRef(0);

  useEffect(() => {
    dispatch({ type: 'reset' });
    const ctl = new AbortController();
    loadMessages(chatId, ctl.signal).then(
      (messages) => dispatch({ type: 'messages', messages }),
      (err: unknown) => !ctl.signal.aborted && setError(err),
    );
    return () => ctl.abort();
  }, [chatId]);

  // Keep the newest message in view as messages and chunks arrive.
  useEffect(() => {
    logEnd.current?.scrollIntoView?.({ block: 'nearest' });
  }, [transcript]);

  useEffect(() => {
    if (room.failure && room.failure.code !== 'CANCELLED')
      setError(new ApiProblem(0, room.failure.code, room.failure.message, null));
  }, [room.failure]);

  if (loaded.error) {
    return (
      <Page title="Chat" actions={<a href="#/chats">All chats</a>}>
        <ErrorNote error={loaded.error} />
      </Page>
    );
  }
  if (!chat) {
    return (
      <Page title="Chat" actions={<a href="#/chats">All chats</a>}>
        <Busy label="Loading the chat…" />
      </Page>
    );
  }

  const owner = chat.user_id === me;
  const canWrite = owner || (chat.visibility === 'organization' && session?.user.role !== 'viewer');
  const filesById = new Map(chat.files.map((f) => [f.fileid, f]));

  const typing = (on: boolean) => {
    const now = Date.now();
    if (typingIdle.current) clearTimeout(typingIdle.current);
    if (!on) {
      if (typingSent.current > 0) room.setTyping(false);
      typingSent.current = 0;
      return;
    }
    if (now - typingSent.current > TYPING_EVERY_MS) {
      room.setTyping(true);
      typingSent.current = now;
    }
    typingIdle.current = setTimeout(() => typing(false), TYPING_IDLE_MS);
  };

  const upload = (files: File[]) => {
    if (files.length === 0 || !canWrite) return;
    const key = ++uploadSeq.current;
    const names = files.map((f) => f.name).join(', ');
    const total = files.reduce((n, f) => n + f.size, 0);
    const handle = uploadFiles(chatId, files, (l, t) =>
      setUploads((us) => us.map((u) => (u.key === key ? { ...u, loaded: l, total: t } : u))),
    );
    setUploads((us) => [...us, { key, names, loaded: 0, total, error: null, abort: handle.abort }]);
    handle.done.then(
      (stored: ChatFile[]) => {
        setUploads((us) => us.filter((u) => u.key !== key));
        setChat((c) => (c ? { ...c, files: [...c.files, ...stored] } : c));
        // A file just uploaded is meant for the next message.
        setSelected((s) => new Set([...s, ...stored.map((f) => f.fileid)]));
      },
      (err: unknown) => {
        if (err instanceof DOMException && err.name === 'AbortError')
          setUploads((us) => us.filter((u) => u.key !== key));
        else setUploads((us) => us.map((u) => (u.key === key ? { ...u, error: err } : u)));
      },
    );
  };

  const send = async () => {
    const content = text.trim();
    if (!content || sending) return;
    typing(false);
    setError(null);
    const abort = new AbortController();
    const files = [...selected];
    let turnId: string | null = null;
    setSending({ turnId: null, abort });
    try {
      await streamSse(
        `/api/v1/chat/${chatId}/messages`,
        { body: { content, stream: true, ...(files.length ? { files } : {}) }, signal: abort.signal },
        (e) => {
          let d: Sse;
          try {
            d = JSON.parse(e.data) as Sse;
          } catch {
            return;
          }
          if (d.type === 'user_message' && d.message) {
            turnId = d.message.message_id;
            setSending({ turnId, abort });
            setText('');
            setSelected(new Set());
            dispatch({ type: 'messages', messages: [d.message] });
            dispatch({ type: 'start', id: turnId });
          } else if (typeof d.chunk === 'string' && turnId) {
            dispatch({ type: 'chunk', id: turnId, index: d.index ?? 0, text: d.chunk });
          } else if (d.finished) {
            if (d.message) dispatch({ type: 'messages', messages: [d.message] });
            if (d.error)
              setError(new ApiProblem(0, d.error.code ?? 'ERROR', d.error.message ?? '', d.error.request_id ?? null));
            if (turnId) dispatch({ type: 'end', id: turnId });
          }
        },
      );
    } catch (err) {
      if (!(err instanceof DOMException && err.name === 'AbortError')) setError(err);
    } finally {
      setSending(null);
    }
  };

  const stop = () => {
    if (!sending) return;
    // The answer belongs to the room (it goes on without its asker): the room is asked to stop it; without
    // the room, the request is dropped and the server stops when it notices.
    if (!(sending.turnId && room.cancel(sending.turnId))) sending.abort.abort();
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    upload([...(e.dataTransfer?.files ?? [])]);
  };

  const here = room.users.length > 0 ? room.users : me ? [me] : [];
  const typists = room.typing.filter((u) => u !== me).map(name);
  const attached = [...selected].map((id) => filesById.get(id)).filter((f): f is ChatFile => f !== undefined);

  return (
    <Page
      title={chatTitle(chat)}
      actions={
        <>
          <a href="#/chats">All chats</a>
          {owner ? (
            <ChatActions chat={chat} onChanged={setChat} onDeleted={() => navigate('/chats')} onError={setError} />
          ) : null}
        </>
      }
    >
      <p class="muted small chat-meta">
        {chat.current_model_api_source}:{chat.current_model_id} ·{' '}
        <span class={`badge${chat.visibility === 'organization' ? ' ok' : ''}`}>
          {chat.visibility === 'organization' ? 'Shared with organization' : 'Private'}
        </span>
      </p>
      <ErrorNote error={error} />
      <div
        class={`chat-layout${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          if (!canWrite) return;
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={(e) => {
          if (e.currentTarget === e.target) setDragging(false);
        }}
        onDrop={onDrop}
      >
        <div class="chat-main">
          <section class="here" aria-labelledby="here-title">
            <h2 id="here-title" class="small-heading">
              Who is here
            </h2>
            <span class={`badge${room.status === 'live' ? ' ok' : ''}`} role="status">
              {STATUS_WORDS[room.status]}
            </span>
            <ul class="people" aria-label="People in this chat now">
              {here.map((u) => (
                <li key={u} class="person">
                  {name(u)}
                </li>
              ))}
            </ul>
          </section>
          <div class="messages" role="log" aria-label="Messages" aria-busy={transcript.generations.length > 0}>
            <ol class="message-list">
              {transcript.messages.length === 0 && transcript.generations.length === 0 ? (
                <li class="muted small">No messages yet.</li>
              ) : null}
              {transcript.messages.map((m) => (
                <li key={m.message_id} class={`msg msg-${m.role}`} data-message-id={m.message_id}>
                  <div class="msg-head small">
                    <strong>{m.role === 'assistant' ? 'Assistant' : name(m.user_id)}</strong>
                    <span class="muted">
                      {m.role === 'assistant' && m.model ? `${m.model} · ` : ''}
                      {fmtDate(m.timestamp)}
                      {m.status !== 'complete' ? ` · ${m.status}` : ''}
                    </span>
                  </div>
                  <Markdown text={m.content} />
                  {m.files.length > 0 ? (
                    <ul class="msg-files" aria-label="Attached files">
                      {m.files.map((id) => {
                        const f = filesById.get(id);
                        return (
                          <li key={id}>
                            {f ? (
                              <button
                                type="button"
                                class="linkish"
                                onClick={() => downloadFile(chatId, f).catch(setError)}
                              >
                                {f.filename}
                              </button>
                            ) : (
                              <span class="muted">a file no longer here</span>
                            )}
                          </li>
                        );
                      })}
                    </ul>
                  ) : null}
                </li>
              ))}
              {transcript.generations.map((g) => (
                <li key={g.id} class="msg msg-assistant streaming" data-streaming="true">
                  <div class="msg-head small">
                    <strong>Assistant</strong>
                    <span class="muted">answering…</span>
                  </div>
                  <Markdown text={generationText(g)} />
                </li>
              ))}
              <li ref={logEnd} class="log-end" aria-hidden="true" />
            </ol>
          </div>
          <p class="typing muted small" aria-live="polite">
            {typists.length === 1
              ? `${typists[0] ?? ''} is typing…`
              : typists.length > 1
                ? `${typists.join(', ')} are typing…`
                : ''}
          </p>
          {canWrite ? (
            <form
              class="composer"
              onSubmit={(e) => {
                e.preventDefault();
                void send();
              }}
            >
              <label for="chat-message">Message</label>
              <textarea
                id="chat-message"
                value={text}
                rows={3}
                aria-describedby="chat-message-hint"
                onInput={(e) => {
                  setText(e.currentTarget.value);
                  typing(e.currentTarget.value.length > 0);
                }}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                    e.preventDefault();
                    void send();
                  }
                }}
              />
              <small id="chat-message-hint" class="muted">
                Enter sends, Shift+Enter starts a new line. Drop files anywhere on the chat to upload them.
              </small>
              {attached.length > 0 ? (
                <ul class="attached" aria-label="Attached to this message">
                  {attached.map((f) => (
                    <li key={f.fileid}>
                      <span>{f.filename}</span>
                      <button
                        type="button"
                        class="secondary"
                        aria-label={`Remove ${f.filename} from this message`}
                        onClick={() => setSelected((s) => new Set([...s].filter((id) => id !== f.fileid)))}
                      >
                        Remove
                      </button>
                    </li>
                  ))}
                </ul>
              ) : null}
              <div class="row composer-actions">
                <button type="button" class="secondary" onClick={() => fileInput.current?.click()}>
                  Attach files
                </button>
                <input
                  ref={fileInput}
                  type="file"
                  multiple
                  hidden
                  aria-label="Files to upload"
                  onChange={(e) => {
                    upload([...(e.currentTarget.files ?? [])]);
                    e.currentTarget.value = '';
                  }}
                />
                {sending ? (
                  <button type="button" class="danger" onClick={stop}>
                    Stop
                  </button>
                ) : (
                  <button type="submit" disabled={!text.trim()}>
                    Send
                  </button>
                )}
              </div>
            </form>
          ) : (
            <p class="muted">You can read this chat but not write to it.</p>
          )}
          {dragging ? (
            <div class="drop-hint" aria-hidden="true">
              Drop files to upload them to this chat
            </div>
          ) : null}
        </div>
        <FilesPanel
          chatId={chatId}
          files={chat.files}
          uploads={uploads}
          selected={selected}
          canWrite={canWrite}
          onToggle={(id) =>
            setSelected((s) => {
              const next = new Set(s);
              if (next.has(id)) next.delete(id);
              else next.add(id);
              return next;
            })
          }
          onDismiss={(key) => setUploads((us) => us.filter((u) => u.key !== key))}
          onError={setError}
        />
      </div>
    </Page>
  );
}
