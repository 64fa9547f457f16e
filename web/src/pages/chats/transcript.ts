// What the chat shows: the stored messages, and the assistant's answers still streaming in. Both the HTTP
// stream of one's own turn and the room's frames feed it; a turn has one id in both (the user message's
// id), and chunks are numbered, so whatever arrives twice is shown once.
import type { Message } from './types';

export interface Generation {
  id: string;
  // Chunks by their index: a sparse array, joined when shown.
  chunks: string[];
}

export interface Transcript {
  messages: Message[];
  generations: Generation[];
}

export type TranscriptAction =
  // `onlyNew`: add what is not there yet, never overwrite (a stand-in built from a `complete` frame).
  | { type: 'messages'; messages: Message[]; onlyNew?: boolean }
  | { type: 'start'; id: string }
  | { type: 'chunk'; id: string; index: number; text: string }
  | { type: 'end'; id: string }
  | { type: 'reset' };

export const EMPTY: Transcript = { messages: [], generations: [] };

function upsert(list: Message[], incoming: Message[], onlyNew = false): Message[] {
  const byId = new Map(list.map((m) => [m.message_id, m]));
  for (const m of incoming) {
    const had = byId.get(m.message_id);
    if (!had || !onlyNew) byId.set(m.message_id, { ...had, ...m });
  }
  // Oldest first, as the API lists them; equal timestamps keep their arrival order (sort is stable).
  return [...byId.values()].sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
}

export function transcriptReducer(state: Transcript, action: TranscriptAction): Transcript {
  switch (action.type) {
    case 'messages':
      return { ...state, messages: upsert(state.messages, action.messages, action.onlyNew) };
    case 'start':
      return state.generations.some((g) => g.id === action.id)
        ? state
        : { ...state, generations: [...state.generations, { id: action.id, chunks: [] }] };
    case 'chunk': {
      const found = state.generations.find((g) => g.id === action.id);
      if (found?.chunks[action.index] !== undefined) return state;
      const chunks = [...(found?.chunks ?? [])];
      chunks[action.index] = action.text;
      const next = { id: action.id, chunks };
      return {
        ...state,
        generations: found ? state.generations.map((g) => (g === found ? next : g)) : [...state.generations, next],
      };
    }
    case 'end':
      return { ...state, generations: state.generations.filter((g) => g.id !== action.id) };
    case 'reset':
      return EMPTY;
  }
}

export const generationText = (g: Generation): string => g.chunks.join('');
