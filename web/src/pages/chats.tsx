// Chats: #/chats lists them, #/chats/<chat_id> opens one (a live room when shared). The pieces live in
// ./chats/; their styles in ./chats/chats.css.
import type { JSX } from 'preact';
import type { PageProps } from '../app';
import { ChatList } from './chats/chat-list';
import { ChatView } from './chats/chat-view';
import './chats/chats.css';

export function ChatsPage({ params }: PageProps): JSX.Element {
  const [chatId] = params;
  return chatId ? <ChatView key={chatId} chatId={chatId} /> : <ChatList />;
}
