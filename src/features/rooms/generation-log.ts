// The events of a chat's generations, numbered and kept by the chat's room so a client that lost them can
// catch up: an SSE client resuming with `Last-Event-ID`, a member (re)joining the room mid-generation.
// Memory only: a generation in flight keeps its room awake, and an ended one is worth keeping only a few
// minutes. Why: docs/design/resumable-streams.md

// Bounds, per generation: the newest GENERATION_MAX_EVENTS events and GENERATION_MAX_CHARS characters of
// their encodings (SSE and WebSocket together) are kept; older ones are dropped first, and a client asking
// for a dropped event is told the generation can no longer be resumed. Per room: ended generations are
// kept RETAIN_AFTER_END_MS, and at most ROOM_MAX_ENDED_GENERATIONS of them (the oldest go first).
export const GENERATION_MAX_EVENTS = 10_000;
export const GENERATION_MAX_CHARS = 1_048_576;
export const RETAIN_AFTER_END_MS = 5 * 60_000;
export const ROOM_MAX_ENDED_GENERATIONS = 16;

export type GenerationKind = 'http' | 'room';

interface Entry {
  seq: number;
  // The SSE event with its `id:` line (HTTP turns), and the room's frame; either may be absent.
  sse: string | null;
  ws: string | null;
  chars: number;
}

// Why a follow request cannot be served: no generation in flight (none), the asked-for event was the last
// of an ended generation (ended), the generation or its asked-for events are no longer kept (gone), or the
// id is past the last event (ahead).
export type FollowRefusal = 'none' | 'ended' | 'gone' | 'ahead';

const encoder = new TextEncoder();

export class Generation {
  private readonly entries: Entry[] = [];
  private chars = 0;
  private lastSeq = 0;
  private readonly followers = new Map<string, ReadableStreamDefaultController<Uint8Array>>();
  endedAt: number | null = null;

  constructor(
    readonly id: string,
    readonly kind: GenerationKind,
  ) {}

  // The seq of the oldest event still kept (lastSeq + 1 when none is).
  private get firstKept(): number {
    return this.entries[0]?.seq ?? this.lastSeq + 1;
  }

  get last(): number {
    return this.lastSeq;
  }

  // Numbers and keeps one event, and hands its SSE form to every follower at once.
  push(sse: string | null, ws: string | null): number {
    const seq = ++this.lastSeq;
    const framed = sse === null ? null : `id: ${this.id}:${seq}\n${sse}`;
    const entry: Entry = { seq, sse: framed, ws, chars: (framed?.length ?? 0) + (ws?.length ?? 0) };
    this.entries.push(entry);
    this.chars += entry.chars;
    while (this.entries.length > GENERATION_MAX_EVENTS || this.chars > GENERATION_MAX_CHARS) {
      const dropped = this.entries.shift();
      if (!dropped) break;
      this.chars -= dropped.chars;
    }
    if (framed !== null) {
      const bytes = encoder.encode(framed);
      for (const [id, f] of this.followers) {
        try {
          f.enqueue(bytes);
        } catch {
          this.followers.delete(id); // Its reader went away.
        }
      }
    }
    return seq;
  }

  end(): void {
    if (this.endedAt !== null) return;
    this.endedAt = Date.now();
    for (const f of this.followers.values()) {
      try {
        f.close();
      } catch {
        // Already cancelled.
      }
    }
    this.followers.clear();
  }

  // The room frames kept so far, for a member joining mid-generation.
  roomFrames(): string[] {
    return this.entries.flatMap((e) => (e.ws === null ? [] : [e.ws]));
  }

  // The SSE events after `after`, then the live ones until the generation ends. The follower's id lets its
  // reader leave by `unfollow`, which ends the stream cleanly (cancelling an RPC stream with a read pending
  // leaves the runtime an unhandled rejection).
  follow(after: number): { id: string; stream: ReadableStream<Uint8Array> } | FollowRefusal {
    if (after > this.lastSeq) return 'ahead';
    if (after < this.firstKept - 1) return 'gone';
    if (after === this.lastSeq && this.endedAt !== null) return 'ended';
    const backlog = this.entries.filter((e) => e.seq > after && e.sse !== null);
    const id = crypto.randomUUID();
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        for (const e of backlog) controller.enqueue(encoder.encode(e.sse ?? ''));
        if (this.endedAt !== null) controller.close();
        else this.followers.set(id, controller);
      },
      // The follower went away (its client closed the stream): the generation goes on without it.
      cancel: () => {
        this.followers.delete(id);
      },
    });
    return { id, stream };
  }

  unfollow(id: string): void {
    const follower = this.followers.get(id);
    this.followers.delete(id);
    try {
      follower?.close();
    } catch {
      // Already cancelled.
    }
  }
}

export class GenerationLog {
  private readonly byId = new Map<string, Generation>();

  start(id: string, kind: GenerationKind): Generation {
    this.prune();
    const generation = new Generation(id, kind);
    this.byId.set(id, generation);
    return generation;
  }

  get(id: string): Generation | undefined {
    this.prune();
    return this.byId.get(id);
  }

  inFlight(): Generation[] {
    this.prune();
    return [...this.byId.values()].filter((g) => g.endedAt === null);
  }

  // Ended generations past their time, and the oldest beyond the per-room count, are forgotten.
  private prune(now = Date.now()): void {
    const ended = [...this.byId.values()].filter((g) => g.endedAt !== null);
    const excess = ended.length - ROOM_MAX_ENDED_GENERATIONS;
    ended.forEach((g, i) => {
      if (i < excess || now - (g.endedAt ?? now) > RETAIN_AFTER_END_MS) this.byId.delete(g.id);
    });
  }
}
