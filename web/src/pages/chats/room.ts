// The live room of a chat: /ws/chat?chat_id=<id>&token=<access token> (a browser cannot set headers on a
// WebSocket; the route reads `?token=`). Frames (docs/api.md "Realtime: /ws/chat"): `history` and
// `members` on joining, `presence` when someone comes or goes, `message` for each stored message, `start`,
// `stream` and `complete`/`error` for the assistant's answers, `typing` from the others.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { getSession } from '../../lib/session';
import type { TranscriptAction } from './transcript';
import type { Message } from './types';

export type RoomStatus = 'connecting' | 'live' | 'offline';

export interface Room {
  status: RoomStatus;
  // Distinct accounts here now (user ids), oneself included.
  users: string[];
  // Who else is typing (user ids).
  typing: string[];
  // A generation's failure reported by the room (e.g. cancelled), by turn id.
  failure: { id: string; message: string; code: string } | null;
  setTyping: (typing: boolean) => void;
  cancel: (turnId: string) => boolean;
}

interface Frame {
  type: string;
  id?: string;
  data?: Record<string, unknown>;
}

// Someone who stopped sending typing frames (closed the tab mid-word) stops "typing" after this long.
const TYPING_STALE_MS = 6000;
// The room admits a few new connections per minute per client: reconnects back off.
const RETRY_MS = [1000, 3000, 8000, 20000, 30000];

const asString = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function socketUrl(chatId: string): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams({ chat_id: chatId, token: getSession()?.accessToken ?? '' });
  return `${proto}//${location.host}/ws/chat?${q.toString()}`;
}

export function useRoom(chatId: string, dispatch: (a: TranscriptAction) => void): Room {
  const [status, setStatus] = useState<RoomStatus>('connecting');
  const [users, setUsers] = useState<string[]>([]);
  const [typingUntil, setTypingUntil] = useState<Record<string, number>>({});
  const [failure, setFailure] = useState<Room['failure']>(null);
  const [, setNow] = useState(0);
  const ws = useRef<WebSocket | null>(null);
  const dispatchRef = useRef(dispatch);
  dispatchRef.current = dispatch;

  useEffect(() => {
    let closed = false;
    let attempt = 0;
    let retry: ReturnType<typeof setTimeout> | null = null;

    const onFrame = (frame: Frame) => {
      const d = frame.data ?? {};
      const send = dispatchRef.current;
      switch (frame.type) {
        case 'history':
          send({ type: 'messages', messages: (d.messages as Message[] | undefined) ?? [] });
          break;
        case 'members':
        case 'presence':
          if (Array.isArray(d.users)) setUsers(d.users.filter((u): u is string => typeof u === 'string'));
          if (frame.type === 'presence' && d.event === 'left' && typeof d.user_id === 'string') {
            const gone = d.user_id;
            setTypingUntil(({ [gone]: _, ...rest }) => rest);
          }
          break;
        case 'message': {
          const m = d as unknown as Message;
          send({ type: 'messages', messages: [m] });
          const who = m.user_id;
          if (m.role === 'user' && who) setTypingUntil(({ [who]: _, ...rest }) => rest);
          break;
        }
        case 'start':
          if (frame.id) send({ type: 'start', id: frame.id });
          break;
        case 'stream':
          if (frame.id && typeof d.index === 'number' && typeof d.chunk === 'string')
            send({ type: 'chunk', id: frame.id, index: d.index, text: d.chunk });
          break;
        case 'complete': {
          if (!frame.id) break;
          const messageId = asString(d.message_id);
          // A turn asked over the socket has its stored answer only here.
          if (messageId)
            send({
              type: 'messages',
              messages: [
                {
                  message_id: messageId,
                  chat_id: chatId,
                  role: 'assistant',
                  content: asString(d.response) ?? '',
                  files: [],
                  timestamp: new Date().toISOString(),
                  user_id: null,
                  model: asString(d.model),
                  status: 'complete',
                },
              ],
              onlyNew: true,
            });
          send({ type: 'end', id: frame.id });
          break;
        }
        case 'error':
          if (frame.id) {
            send({ type: 'end', id: frame.id });
            setFailure({
              id: frame.id,
              message: asString(d.error) ?? 'The answer failed.',
              code: asString(d.code) ?? '',
            });
          }
          break;
        case 'typing': {
          const who = asString(d.user_id);
          if (!who) break;
          if (d.typing === true) setTypingUntil((t) => ({ ...t, [who]: Date.now() + TYPING_STALE_MS }));
          else setTypingUntil(({ [who]: _, ...rest }) => rest);
          break;
        }
        default:
          break;
      }
    };

    const connect = () => {
      if (closed) return;
      setStatus('connecting');
      const socket = new WebSocket(socketUrl(chatId));
      ws.current = socket;
      socket.onopen = () => {
        attempt = 0;
        setStatus('live');
      };
      socket.onmessage = (e: MessageEvent) => {
        try {
          onFrame(JSON.parse(String(e.data)) as Frame);
        } catch {
          // Not a frame of ours: ignored.
        }
      };
      socket.onclose = () => {
        if (ws.current === socket) ws.current = null;
        if (closed) return;
        setStatus('offline');
        setUsers([]);
        const wait = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)] ?? 30000;
        attempt += 1;
        // The access token may have expired: any API call refreshes it before the next try.
        retry = setTimeout(() => {
          api('/api/v1/auth/me').then(connect, connect);
        }, wait);
      };
    };
    connect();
    return () => {
      closed = true;
      if (retry) clearTimeout(retry);
      ws.current?.close(1000);
      ws.current = null;
    };
  }, [chatId]);

  // Typing marks expire on their own; a tick re-renders while any is shown.
  const now = Date.now();
  const typing = Object.entries(typingUntil)
    .filter(([, until]) => until > now)
    .map(([u]) => u);
  useEffect(() => {
    if (typing.length === 0) return;
    const t = setTimeout(() => setNow(Date.now()), 1000);
    return () => clearTimeout(t);
  });

  return {
    status,
    users,
    typing,
    failure,
    setTyping: (on: boolean) => {
      if (ws.current?.readyState === WebSocket.OPEN) ws.current.send(JSON.stringify({ type: 'typing', typing: on }));
    },
    cancel: (turnId: string) => {
      if (ws.current?.readyState !== WebSocket.OPEN) return false;
      ws.current.send(JSON.stringify({ type: 'cancel', id: turnId }));
      return true;
    },
  };
}
