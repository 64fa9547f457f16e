export interface SseFrame {
  event?: string;
  data?: string;
  comment?: string;
}

// Parses a whole SSE body into frames, keeping comments (keep-alives) as frames of their own.
export function parseSse(text: string): SseFrame[] {
  const frames: SseFrame[] = [];
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    const frame: SseFrame = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) frame.comment = line.slice(1).trim();
      else if (line.startsWith('event:')) frame.event = line.slice(6).trim();
      else if (line.startsWith('data:')) frame.data = (frame.data ? `${frame.data}\n` : '') + line.slice(5).trim();
    }
    frames.push(frame);
  }
  return frames;
}

export function dataFrames(frames: SseFrame[]): unknown[] {
  return frames
    .filter((f) => f.data !== undefined && f.data !== '[DONE]')
    .map((f) => JSON.parse(f.data ?? 'null') as unknown);
}
